#!/usr/bin/env bash
# One-seed sweep of best-of-N's N and RSFT's K (samples per prompt) on the built-in world, as stated in the README.
# Usage: scripts/sweep-bon.sh RUNS_DIR BASE_NAME [the base run's pipeline flags]
# BASE_NAME must be a finished run with `--methods best_of_n,rsft` (or all). N: one `safealign best-of-n` pass of the base
# run's SFT policy over the world's test prompts (N nested: 1, 2, 4, 8, 16 pick among the same 16 samples). K: each point
# copies the base run's finished stages except rsft into RUNS_DIR/BASE_NAME-k<K> and trains only rsft (its config is
# written afresh: the defaults plus the flags given).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=$1; base=$2; shift 2
b="$runs/$base"
node --import tsx src/cli/main.ts best-of-n --model "$b/sft/model" --reward "$b/reward/model" --cost "$b/cost/model" \
  --prompts "$b/world/prompts-test.jsonl" --n 1,2,4,8,16 --max-new-tokens 44 --out "$runs/$base-bon" > "$runs/$base-bon.log" 2>&1
grep '^N=' "$runs/$base-bon.log"
point() {
  local k=$1; shift
  local name="$base-k$k"
  rm -rf "$runs/$name"
  mkdir -p "$runs/$name"
  for d in "$b"/*/; do
    s=$(basename "$d")
    [ "$s" = rsft ] || cp -r "$d" "$runs/$name/"
  done
  node --import tsx src/cli/main.ts pipeline --runs-dir "$runs" --name "$name" --methods best_of_n,rsft --rsft-samples-per-prompt "$k" "$@" > "$runs/$name.log" 2>&1
  python3 - "$runs/$name/report.json" "K=$k" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))['models']['rsft']
print(f"{sys.argv[2]:>5} rsft harmful {100*m['harmfulRate']:5.1f}%  help {m['helpfulness']:.2f}  held-out {100*m['heldOut']['harmfulRate']:5.1f}% {m['heldOut']['helpfulness']:.2f}  KL {m['kl']:.2f}  samples {m['trainingCost']['policySamples']}")
PY
}
point 2 "$@" &
point 4 "$@" &
point 8 "$@" &
wait
