#!/usr/bin/env bash
# Side-by-side throughput: llama.cpp's own llama-bench / llama-batched-bench
# (built against the same vendored llama.cpp by build-llama-tools.sh) and
# `llm4sweat bench`, measured in the same run with the same settings.
# Usage: scripts/bench.sh [MODEL.gguf]   (default: the test model)
# Env: THREADS (2), REPS (3), PP (512), TG (128), NPP (128), NPL (1,2,4,8)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
model="${1:-$LLM4SWEAT_TEST_MODEL}"
threads="${THREADS:-2}" reps="${REPS:-3}" pp="${PP:-512}" tg="${TG:-128}" npp="${NPP:-128}" npl="${NPL:-1,2,4,8}"
scripts/build-llama-tools.sh >/dev/null
tools="$LLM4SWEAT_CACHE/llama-tools/bin"
cargo build --release --locked --quiet -p llm4sweat-cli --bin llm4sweat
ours="$CARGO_TARGET_DIR/release/llm4sweat"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
max_npl=$(tr ',' '\n' <<<"$npl" | sort -n | tail -1)
# Our engine gives each sequence a power-of-two context; give llama-batched-bench the same.
per_seq=1; while [ "$per_seq" -lt $(( (pp > npp ? pp : npp) + tg + 64 )) ]; do per_seq=$((per_seq * 2)); done

# Interleave the two sides so that machine noise hits both alike.
for round in $(seq "$reps"); do
  "$tools/llama-bench" -m "$model" -t "$threads" -p "$pp" -n "$tg" -r 1 -o jsonl >>"$out/llama-bench.jsonl" 2>/dev/null
  "$tools/llama-batched-bench" -m "$model" -t "$threads" -c $((per_seq * max_npl)) -b 512 -ub 512 -no-kvu \
    -npp "$npp" -ntg "$tg" -npl "$npl" --output-format jsonl 2>/dev/null | grep '^{' >>"$out/batched.jsonl"
  "$ours" bench --model "$model" --threads "$threads" --pp "$pp" --tg "$tg" --npp "$npp" \
    --parallel "$npl" --reps 1 --json >>"$out/ours.jsonl"
done

python3 - "$out" "$pp" "$tg" "$npp" "$threads" "$model" <<'PY'
import json, statistics, sys, os
out, pp, tg, npp, threads, model = sys.argv[1:]
pp, tg, npp = int(pp), int(tg), int(npp)
lb = [json.loads(l) for l in open(f"{out}/llama-bench.jsonl") if l.strip()]
bb = [json.loads(l) for l in open(f"{out}/batched.jsonl") if l.strip()]
ours = [json.loads(l) for l in open(f"{out}/ours.jsonl") if l.strip()]
med = statistics.median
ref_pp = med(r["avg_ts"] for r in lb if r["n_prompt"] == pp and r["n_gen"] == 0)
ref_tg = med(r["avg_ts"] for r in lb if r["n_gen"] == tg and r["n_prompt"] == 0)
our_pp = med(r["pp_tps"] for r in ours)
our_tg = med(r["tg_tps"] for r in ours)
print(f"model: {os.path.basename(model)} · threads: {threads} · median of {len(ours)} interleaved runs")
print()
print("| test | llama.cpp tool | llama.cpp t/s | llm4sweat t/s | ratio |")
print("|---|---|---:|---:|---:|")
print(f"| pp{pp} | llama-bench | {ref_pp:.1f} | {our_pp:.1f} | {our_pp/ref_pp:.0%} |")
print(f"| tg{tg} | llama-bench | {ref_tg:.1f} | {our_tg:.1f} | {our_tg/ref_tg:.0%} |")
for n in sorted({r["pl"] for r in bb}):
    ref = med(r["speed_tg"] for r in bb if r["pl"] == n)
    mine = med(b["gen_tps"] for r in ours for b in r["batched"] if b["parallel"] == n)
    print(f"| {n} × (pp{npp} + tg{tg}), aggregate generation | llama-batched-bench | {ref:.1f} | {mine:.1f} | {mine/ref:.0%} |")
peak = max(r.get("peak_rss_mb") or 0 for r in ours)
if peak:
    print(f"\nllm4sweat bench peak resident memory: {peak:.0f} MB")
PY
