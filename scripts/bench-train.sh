#!/usr/bin/env bash
# Side-by-side training: llama.cpp's own llama-finetune (built against the same
# vendored llama.cpp by build-llama-tools.sh) and `llm4sweat round train`, in the
# same run, on the same examples (the first PAIRS training pairs of the pack,
# rendered with the model's ChatML template), context, threads and learning rate.
# Reports training tokens/s (optimizer steps only: conversion, evaluation and
# saving excluded on both sides) and the training process's peak memory.
# Usage: scripts/bench-train.sh [MODEL.gguf]   (default: the test model)
# Env: THREADS (2), CONTEXT (256), PAIRS (24), LR (1e-5)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
model="${1:-$LLM4SWEAT_TEST_MODEL}"
threads="${THREADS:-2}" context="${CONTEXT:-256}" pairs="${PAIRS:-24}" lr="${LR:-1e-5}"
scripts/build-llama-tools.sh >/dev/null
tools="$LLM4SWEAT_CACHE/llama-tools/bin"
cargo build --release --locked --quiet -p llm4sweat-cli --bin llm4sweat
ours="$CARGO_TARGET_DIR/release/llm4sweat"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
export LLM4SWEAT_DB="$out/ws.sqlite3" LLM4SWEAT_MODELS_DIR="$out/models"

# A pack with the first $pairs training pairs, and a round on it.
mkdir -p "$out/pack"
cp data/hyperhidrosis/{pack.toml,sources.json,seed_facts.json,eval_items.json} "$out/pack/"
python3 -c 'import json,sys; json.dump(json.load(open(sys.argv[1]))[:int(sys.argv[2])], open(sys.argv[3],"w"))' \
  data/hyperhidrosis/train_pairs.json "$pairs" "$out/pack/train_pairs.json"
"$ours" --quiet init >/dev/null
"$ours" --quiet models add "$model" --name base --role candidate >/dev/null
"$ours" --quiet round new --base base --seed 1 --val-fraction 0.1 --pack "$out/pack" >/dev/null
"$ours" --quiet round export 1 --out "$out/export" >/dev/null
# The same training conversations as one ChatML text for llama-finetune.
python3 - "$out/export/train.jsonl" "$out/train.txt" <<'PY'
import json, sys
with open(sys.argv[2], "w") as f:
    for line in open(sys.argv[1]):
        for m in json.loads(line)["messages"]:
            f.write(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n")
PY
"$tools/llama-quantize" --allow-requantize "$model" "$out/f32.gguf" F32 >/dev/null 2>&1

# llama-finetune: one epoch, no validation split; its peak memory from the kernel's
# accounting of the waited-for child (KiB).
python3 -c 'import resource, subprocess, sys
with open(sys.argv[1], "w") as log:
    subprocess.run(sys.argv[3:], stdout=log, stderr=log)
open(sys.argv[2], "w").write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))' \
  "$out/ref.log" "$out/ref.rss" "$tools/llama-finetune" -m "$out/f32.gguf" -f "$out/train.txt" \
  -c "$context" -b "$context" -ub "$context" -t "$threads" -lr "$lr" --epochs 1 --val-split 0 -o "$out/ref-out.gguf"
# Ours: one epoch of the same round; the engine process reports its own peak memory.
"$ours" --quiet round train 1 --epochs 1 --lr "$lr" --context "$context" --threads "$threads" >"$out/ours.log" 2>&1 || true
"$ours" round show 1 --json >"$out/ours.json"

python3 - "$out" "$context" "$threads" "$pairs" "$model" <<'PY'
import json, os, re, sys
out, context, threads, pairs, model = sys.argv[1:]
context = int(context)
log = open(f"{out}/ref.log", encoding="utf-8", errors="replace").read()
runs = re.findall(r"train: \[[^\]]*\] data=(\d+)/(\d+) .*? t=(\d+):(\d+):(\d+)", log)
if not runs:
    sys.exit("llama-finetune printed no training progress:\n" + log[-2000:])
done, total, h, m, s = map(int, runs[-1])
ref_tps = done * context / (h * 3600 + m * 60 + s)
ref_rss = int(open(f"{out}/ref.rss").read().strip().splitlines()[-1]) / 1024
r = json.load(open(f"{out}/ours.json"))["round"]["training"]
o = r.get("outcome")
if not o:
    sys.exit("llm4sweat did not finish training:\n" + open(f"{out}/ours.log").read()[-2000:])
print(f"model: {os.path.basename(model)} as F32 · context {context} · {threads} threads · {pairs} pairs · 1 epoch")
print()
print("| | llama-finetune | llm4sweat | ratio |")
print("|---|---:|---:|---:|")
print(f"| training tokens/s | {ref_tps:.1f} | {o['tokens_per_s']:.1f} | {o['tokens_per_s']/ref_tps:.0%} |")
print(f"| peak memory (MB) | {ref_rss:.0f} | {o['peak_rss_mb']:.0f} | {o['peak_rss_mb']/ref_rss:.0%} |")
print(f"\nllama-finetune: {done} windows (stride context/2); llm4sweat: {r['windows'][0]} windows (back to back); "
      f"llm4sweat validation loss {o['val_loss_before']:.3f} → {o['val_loss_after']:.3f}")
PY
