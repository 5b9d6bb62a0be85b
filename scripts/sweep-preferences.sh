#!/usr/bin/env bash
# One-seed sweep of the DPO family's key settings (DPO β, SafeDPO Δ, SACPO λ) on the built-in world, as stated in the README.
# Usage: scripts/sweep-preferences.sh RUNS_DIR BASE_NAME [the base run's pipeline flags]
# BASE_NAME must be a finished run (`safealign pipeline --name BASE_NAME …`); each sweep point copies its finished
# stages (everything up to PPO-Lagrangian) into RUNS_DIR/BASE_NAME-<point>, so only the DPO-family stages train.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=$1; base=$2; shift 2
point() {
  local name=$1; shift
  rm -rf "$runs/$base-$name"
  mkdir -p "$runs/$base-$name"
  for d in "$runs/$base"/*/; do
    s=$(basename "$d")
    case $s in dpo|safe_dpo|sacpo) ;; *) cp -r "$d" "$runs/$base-$name/" ;; esac
  done
  # the copy's config is written again by this run (its DPO-family settings differ from the base's)
  node --import tsx src/cli/main.ts pipeline --runs-dir "$runs" --name "$base-$name" --methods all "$@" > "$runs/$base-$name.log" 2>&1
  python3 - "$runs/$base-$name/report.json" "$name" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
for k in ['sft', 'ppo_lag', 'dpo', 'safe_dpo', 'sacpo', 'p_sacpo']:
    m = r['models'][k]
    print(f"{sys.argv[2]:>10} {k:>9} harmful {100*m['harmfulRate']:5.1f}%  help {m['helpfulness']:.2f}  held-out {100*m['heldOut']['harmfulRate']:5.1f}% {m['heldOut']['helpfulness']:.2f}  KL {m['kl']:.2f}")
PY
}
# the base run itself with --methods all is the third point: the defaults (β 0.1, Δ 2, λ 1)
point lo --dpo-beta 0.05 --safe-dpo-delta 0 --sacpo-lambda 2 "$@" &
point hi --dpo-beta 0.3 --safe-dpo-delta 5 --sacpo-lambda 4 "$@" &
wait
