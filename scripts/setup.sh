#!/usr/bin/env bash
# Installs what safealign needs on Debian/Ubuntu (system packages when root), then npm packages,
# the libtorch addon and the TypeScript build. `--tests` adds what the test suite needs.
set -euo pipefail
cd "$(dirname "$0")/.."

want_tests=0
[[ "${1:-}" == "--tests" ]] && want_tests=1

# --- Node.js ----------------------------------------------------------------------------
if ! command -v node >/dev/null 2>&1; then
  echo "safealign: Node.js >= 20.19 is required (https://nodejs.org or your distribution's nodesource packages)." >&2
  exit 1
fi
node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' || {
  echo "safealign: Node.js $(node --version) is too old; version 20.19 or newer is required." >&2
  exit 1
}

# --- system packages --------------------------------------------------------------------
pkgs=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
if [[ -z "${LIBTORCH:-}" ]]; then
  for p in libtorch-dev libgloo-dev libopenblas0-pthread; do have_pkg "$p" || pkgs+=("$p"); done
fi
command -v g++ >/dev/null 2>&1 || pkgs+=(g++)
command -v make >/dev/null 2>&1 || pkgs+=(make)
command -v python3 >/dev/null 2>&1 || pkgs+=(python3)
if (( want_tests )); then
  command -v chromium >/dev/null 2>&1 || pkgs+=(chromium)
  have_pkg postgresql || pkgs+=(postgresql)
fi
if (( ${#pkgs[@]} )); then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "safealign: installing system packages: ${pkgs[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
  else
    echo "safealign: missing system packages. Install them with:" >&2
    echo "  sudo apt-get install -y ${pkgs[*]}" >&2
    echo "(or set LIBTORCH=/path/to/libtorch to use a libtorch you downloaded)" >&2
    exit 1
  fi
fi

# --- npm packages, native addon, TypeScript ------------------------------------------------
stamp=node_modules/.safealign-installed
if [[ ! -f $stamp || package-lock.json -nt $stamp || package.json -nt $stamp ]]; then
  npm ci --no-fund --no-audit --loglevel=error
  touch "$stamp"
fi
node scripts/build-native.mjs
npm run --silent build
