#!/usr/bin/env bash
# One point of a one-seed sweep on the built-in world: retrains only the named stages of a finished run with other settings.
# Usage: scripts/sweep-point.sh RUNS_DIR BASE_NAME POINT STAGES [pipeline flags]
#   STAGES: comma-separated stage folders to retrain (e.g. dpo,safe_dpo,sacpo or mocan,alol); every other finished stage of
#   RUNS_DIR/BASE_NAME is copied into RUNS_DIR/BASE_NAME-POINT, so only those stages train (`pipeline --methods all` there,
#   with the flags). Prints sft's, ppo_lag's and each retrained model's gold harmful rate, helpfulness, held-out figures and KL.
#   SAFEALIGN_CLI (default `node --import tsx src/cli/main.ts`) picks the CLI, e.g. the build the base run was made with.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=$1; base=$2; name=$3; stages=$4; shift 4
read -r -a cli <<< "${SAFEALIGN_CLI:-node --import tsx src/cli/main.ts}"
out="$runs/$base-$name"
rm -rf "$out"
mkdir -p "$out"
for d in "$runs/$base"/*/; do
  s=$(basename "$d")
  [[ ",$stages," == *",$s,"* ]] || cp -r "$d" "$out/"
done
# the copy's config is written again by this run (its settings of the retrained stages differ from the base's)
"${cli[@]}" pipeline --runs-dir "$runs" --name "$base-$name" --methods all "$@" > "$out.log" 2>&1
python3 - "$out/report.json" "$name" "$stages" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
stages = sys.argv[3].split(',')
for k in ['sft', 'ppo_lag'] + [m for m in r['models'] if m in stages or m.removeprefix('p_') in stages]:
    m = r['models'].get(k)
    if m is None: continue
    print(f"{sys.argv[2]:>10} {k:>9} harmful {100*m['harmfulRate']:5.1f}%  help {m['helpfulness']:.2f}  held-out {100*m['heldOut']['harmfulRate']:5.1f}% {m['heldOut']['helpfulness']:.2f}  KL {m['kl']:.2f}")
PY
