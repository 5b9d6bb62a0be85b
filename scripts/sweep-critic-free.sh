#!/usr/bin/env bash
# Sweep of one setting of a critic-free method (GRPO's β, safe GRPO's or RLOO-Lag's λ learning rate) on finished replicates, as stated in the README.
# Usage: scripts/sweep-critic-free.sh SRC_RUN OUT_DIR METHOD FIELD "VALUES" "REPLICATES" [OTHER_FIELD=VALUE ...]
#   e.g. scripts/sweep-critic-free.sh runs/seeds5 runs/sweep grpo grpo.klCoef "0 0.2 0.5" "0 1"
#        scripts/sweep-critic-free.sh runs/seeds5 runs/sweep safe_grpo grpo.lagrangeLr "0.1 0.3 1" "0 1" grpo.klCoef=0.2
# SRC_RUN is a multi-seed run (`pipeline --seeds N`) whose default stages are finished. For each replicate k and value v, copies
# SRC_RUN/seed_<k> to OUT_DIR/<method>-<field>-<v>[-<other fields>]-s<k> (never writing into SRC_RUN), sets FIELD to v (and each
# OTHER_FIELD to its value) in the copy's config.json
# and resumes the copy with that config and `--methods METHOD`: only METHOD trains (SFT, score models, d and PPO-Lag are the replicate's).
# Prints one line per run: the method's gold harmful rate and helpfulness on the test prompts, held-out harmful rate, KL, training time.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$1; out=$2; method=$3; field=$4; values=$5; reps=$6
shift 6
others=("$@")
suffix=""; for o in "${others[@]}"; do suffix="$suffix-$o"; done
mkdir -p "$out"
for k in $reps; do
  for v in $values; do
    name="$method-$field-$v$suffix-s$k"
    if [ ! -d "$out/$name" ]; then
      cp -r "$src/seed_$k" "$out/$name.tmp"
      rm -rf "$out/$name.tmp/$method"
      node -e 'const fs = require("fs"); const [f, ...sets] = process.argv.slice(1); const c = JSON.parse(fs.readFileSync(f, "utf8"));
        for (const s of sets) { const [path, v] = s.split("="); const keys = path.split("."); const last = keys.pop(); keys.reduce((o, key) => o[key], c)[last] = Number(v); }
        fs.writeFileSync(f, JSON.stringify(c, null, 2));' \
        "$out/$name.tmp/config.json" "$field=$v" "${others[@]}"
      mv "$out/$name.tmp" "$out/$name"
    fi
    # the copy's own config (JSON is YAML), so the run resumes with exactly the replicate's settings and FIELD = v
    CI=true node --import tsx src/cli/main.ts pipeline --config "$out/$name/config.json" --runs-dir "$out" --name "$name" --methods "$method" --threads 1 > "$out/$name.log" 2>&1
    node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); const m = r.models[process.argv[2]];
      console.log(`${process.argv[3]}: harmful ${(100 * m.harmfulRate).toFixed(1)}% helpfulness ${m.helpfulness.toFixed(2)} held-out harmful ${(100 * m.heldOut.harmfulRate).toFixed(1)}% KL ${m.kl.toFixed(1)} training ${m.trainingCost.wallTimeSec.toFixed(0)} s`)' \
      "$out/$name/report.json" "$method" "$name"
  done
done
