#!/usr/bin/env bash
# Side-by-side training: llama.cpp's own llama-finetune (built against the same
# vendored llama.cpp by build-llama-tools.sh) and `llm4sweat round train`, in the
# same run, on the same examples (the first PAIRS training pairs of the pack,
# rendered with the model's ChatML template), context, threads and learning rate.
# Reports training tokens/s (optimizer steps only: conversion, evaluation and
# saving excluded on both sides) and the training process's peak memory.
# The two sides alternate A B B A … (ROUNDS pairs), so that a machine that
# slows down as it warms up does not favour whichever runs first; the table
# gives the median of each side.
# Usage: scripts/bench-train.sh [MODEL.gguf]   (default: the test model)
# Env: THREADS (2), CONTEXT (256), PAIRS (48), LR (1e-5), ROUNDS (2)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
model="${1:-$LLM4SWEAT_TEST_MODEL}"
threads="${THREADS:-2}" context="${CONTEXT:-256}" pairs="${PAIRS:-48}" lr="${LR:-1e-5}" rounds="${ROUNDS:-2}"
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
run_ref() {
  python3 -c 'import resource, subprocess, sys
with open(sys.argv[1], "w") as log:
    subprocess.run(sys.argv[3:], stdout=log, stderr=log)
open(sys.argv[2], "w").write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))' \
    "$out/ref-$1.log" "$out/ref-$1.rss" "$tools/llama-finetune" -m "$out/f32.gguf" -f "$out/train.txt" \
    -c "$context" -b "$context" -ub "$context" -t "$threads" -lr "$lr" --epochs 1 --val-split 0 -o "$out/ref-out.gguf"
}
# Ours: one epoch of a fresh round on the same examples (same seed, same split);
# the engine process reports its own peak memory.
n=1
run_ours() {
  if [ "$n" -gt 1 ]; then
    "$ours" --quiet round new --base base --seed 1 --val-fraction 0.1 --pack "$out/pack" >/dev/null
  fi
  "$ours" --quiet round train "$n" --epochs 1 --lr "$lr" --context "$context" --threads "$threads" >"$out/ours-$1.log" 2>&1 || true
  "$ours" round show "$n" --json >"$out/ours-$1.json"
  n=$((n + 1))
}
for r in $(seq 1 "$rounds"); do
  if [ $((r % 2)) -eq 1 ]; then run_ref "$r"; run_ours "$r"; else run_ours "$r"; run_ref "$r"; fi
done

python3 - "$out" "$context" "$threads" "$pairs" "$model" "$rounds" <<'PY'
import json, os, re, statistics, sys
out, context, threads, pairs, model, rounds = sys.argv[1:]
context, rounds = int(context), int(rounds)
ref_tps, ref_rss, our_tps, our_rss = [], [], [], []
for r in range(1, rounds + 1):
    log = open(f"{out}/ref-{r}.log", encoding="utf-8", errors="replace").read()
    runs = re.findall(r"train: \[[^\]]*\] data=(\d+)/(\d+) .*? t=(\d+):(\d+):(\d+)", log)
    if not runs:
        sys.exit("llama-finetune printed no training progress:\n" + log[-2000:])
    done, total, h, m, s = map(int, runs[-1])
    ref_tps.append(done * context / (h * 3600 + m * 60 + s))
    ref_rss.append(int(open(f"{out}/ref-{r}.rss").read().strip().splitlines()[-1]) / 1024)
    rec = json.load(open(f"{out}/ours-{r}.json"))["round"]
    o = (rec.get("training") or {}).get("outcome")
    if not o:
        sys.exit("llm4sweat did not finish training:\n" + open(f"{out}/ours-{r}.log").read()[-2000:])
    our_tps.append(o["tokens_per_s"])
    our_rss.append(o["peak_rss_mb"])
    windows, before, after = rec["training"]["windows"][0], o["val_loss_before"], o["val_loss_after"]
med = statistics.median
print(f"model: {os.path.basename(model)} as F32 · context {context} · {threads} threads · {pairs} pairs · 1 epoch · median of {rounds} alternating runs")
print()
print("| | llama-finetune | llm4sweat | ratio |")
print("|---|---:|---:|---:|")
print(f"| training tokens/s | {med(ref_tps):.1f} | {med(our_tps):.1f} | {med(our_tps)/med(ref_tps):.0%} |")
print(f"| peak memory (MB) | {med(ref_rss):.0f} | {med(our_rss):.0f} | {med(our_rss)/med(ref_rss):.0%} |")
print()
print("each run, tokens/s: llama-finetune " + ", ".join(f"{x:.1f}" for x in ref_tps) + "; llm4sweat " + ", ".join(f"{x:.1f}" for x in our_tps))
print(f"llama-finetune: {done} windows (stride context/2); llm4sweat: {windows} windows (back to back); "
      f"llm4sweat validation loss {before:.3f} → {after:.3f}")
PY
