#!/usr/bin/env bash
# Sets up everything the tests need, then runs type checks, lint and the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --tests
npm run --silent typecheck
npm run --silent lint
mkdir -p .tmp
# PostgreSQL on loopback for the annotation app's suite: required under CI, skipped (with a message) otherwise.
if [[ -z "${SAFEALIGN_TEST_PG_URL:-}" ]]; then
  if pg_url=$(bash scripts/start-postgres.sh); then
    export SAFEALIGN_TEST_PG_URL=$pg_url
  elif [[ "${CI:-}" == "true" ]]; then
    echo "safealign: CI needs PostgreSQL for the annotation tests, but scripts/start-postgres.sh failed" >&2
    exit 1
  else
    echo "safealign: PostgreSQL is not available; the annotation app's PostgreSQL tests will be skipped" >&2
  fi
fi
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json=.tmp/vitest.json "$@" || status=$?
# One plain closing line that any CI reader understands.
node -e '
  const r = JSON.parse(require("fs").readFileSync(".tmp/vitest.json", "utf8"));
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
' || true
exit $status
