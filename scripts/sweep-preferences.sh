#!/usr/bin/env bash
# One-seed sweep of the DPO family's key settings (DPO β, SafeDPO Δ, SACPO λ) on the built-in world, as stated in the README.
# Usage: scripts/sweep-preferences.sh RUNS_DIR BASE_NAME [the base run's pipeline flags]
# BASE_NAME must be a finished run (`safealign pipeline --name BASE_NAME …`); each sweep point copies its finished
# stages (everything up to PPO-Lagrangian) into RUNS_DIR/BASE_NAME-<point>, so only the DPO-family stages train.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=$1; base=$2; shift 2
point() { local name=$1; shift; scripts/sweep-point.sh "$runs" "$base" "$name" dpo,safe_dpo,sacpo "$@"; }
# the base run itself with --methods all is the third point: the defaults (β 0.1, Δ 2, λ 1)
point lo --dpo-beta 0.05 --safe-dpo-delta 0 --sacpo-lambda 2 "$@" &
point hi --dpo-beta 0.3 --safe-dpo-delta 5 --sacpo-lambda 4 "$@" &
wait
