#!/usr/bin/env bash
# One-seed sweep of best-of-N's N and RSFT's K (samples per prompt) on the built-in world, as stated in the README.
# Usage: scripts/sweep-bon.sh RUNS_DIR BASE_NAME
# BASE_NAME is a pipeline run whose sft, reward and cost stages are finished. N: one `safealign best-of-n` pass of its SFT
# policy over the world's test prompts (nested: N = 1, 2, 4, 8, 16 pick among the same 16 samples per prompt). K: `safealign
# train rsft` from its SFT policy on the train prompts with the pipeline's rsft defaults and K = 2, 4, 8, then one
# `safealign eval` of SFT and the three on the test prompts (2 samples each, gold judge).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=$1; base=$2
b="$runs/$base"
cli() { node --import tsx src/cli/main.ts "$@"; }
judges=(--reward "$b/reward/model" --cost "$b/cost/model")
cli best-of-n --model "$b/sft/model" "${judges[@]}" --prompts "$b/world/prompts-test.jsonl" --n 1,2,4,8,16 --max-new-tokens 44 --out "$runs/$base-bon" > "$runs/$base-bon.log" 2>&1 &
for k in 2 4 8; do
  cli train rsft --model "$b/sft/model" "${judges[@]}" --prompts "$b/world/prompts-train.jsonl" --out "$runs/$base-rsft-k$k" \
    --rsft-samples-per-prompt "$k" --rsft-rounds 2 --rsft-prompts-per-round 256 --rsft-max-new-tokens 44 \
    --rsft-sft-epochs 2 --rsft-sft-batch-size 32 --rsft-sft-optim-lr 5e-4 > "$runs/$base-rsft-k$k.log" 2>&1 &
done
wait
grep '^N=' "$runs/$base-bon.log"
cli eval --model "$b/sft/model" --name sft --model "$runs/$base-rsft-k2" --name k2 --model "$runs/$base-rsft-k4" --name k4 --model "$runs/$base-rsft-k8" --name k8 \
  "${judges[@]}" --prompts "$b/world/prompts-test.jsonl" --samples 2 --max-new-tokens 44 --out "$runs/$base-rsft-eval" > "$runs/$base-rsft-eval.log" 2>&1
grep -E '^(sft|k[248]):' "$runs/$base-rsft-eval.log"
