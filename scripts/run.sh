#!/usr/bin/env bash
# Sets up everything, then runs the main job: `safealign pipeline` on the built-in world.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node dist/cli/main.js pipeline "$@"
