#!/usr/bin/env bash
# Starts Debian's PostgreSQL cluster on loopback if it is not running, creates the test role and
# database, and prints the connection URL (for SAFEALIGN_TEST_PG_URL). Works as root without systemd.
set -euo pipefail

role=${SAFEALIGN_TEST_PG_ROLE:-safealign_test}
db=${SAFEALIGN_TEST_PG_DB:-safealign_test}
password=${SAFEALIGN_TEST_PG_PASSWORD:-safealign_test}

fail() { echo "start-postgres: $*" >&2; exit 1; }

command -v pg_lsclusters >/dev/null 2>&1 ||
  fail "PostgreSQL is not installed; install it with 'apt-get install -y postgresql' (scripts/setup.sh --tests does this as root)"

# Run a command as the postgres superuser: directly if we are that user, through runuser as root.
as_postgres() {
  if [[ $(id -un) == postgres ]]; then "$@"
  elif [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"
  else fail "run as root or as the postgres user, or start PostgreSQL yourself and set SAFEALIGN_TEST_PG_URL"
  fi
}

# The newest cluster (create one if the package left none).
read -r version cluster port status < <(pg_lsclusters -h | sort -V -k1,1 | tail -1 | awk '{print $1, $2, $3, $4}') || true
if [[ -z "${version:-}" ]]; then
  version=$(ls /usr/lib/postgresql | sort -V | tail -1)
  [[ -n "$version" ]] || fail "no PostgreSQL server version found under /usr/lib/postgresql"
  as_postgres pg_createcluster "$version" main >/dev/null
  read -r version cluster port status < <(pg_lsclusters -h | sort -V -k1,1 | tail -1 | awk '{print $1, $2, $3, $4}')
fi

if [[ "$status" != online* ]]; then
  # The socket directory lives under /run, which a fresh container may not have.
  if [[ $(id -u) -eq 0 ]]; then install -d -o postgres -g postgres -m 2775 /var/run/postgresql; fi
  # pg_ctlcluster works without systemd; listen on loopback only.
  as_postgres pg_ctlcluster "$version" "$cluster" start -- -o "-c listen_addresses=127.0.0.1" >/dev/null ||
    fail "pg_ctlcluster $version $cluster start failed; see /var/log/postgresql/postgresql-$version-$cluster.log"
fi

for _ in $(seq 1 50); do
  as_postgres psql -p "$port" -qtAc 'SELECT 1' >/dev/null 2>&1 && break
  sleep 0.2
done
as_postgres psql -p "$port" -qtAc 'SELECT 1' >/dev/null || fail "PostgreSQL $version/$cluster on port $port does not answer"

psql_su() { as_postgres psql -p "$port" -v ON_ERROR_STOP=1 -qtA "$@"; }
if [[ -z $(psql_su -c "SELECT 1 FROM pg_roles WHERE rolname = '$role'") ]]; then
  psql_su -c "CREATE ROLE \"$role\" LOGIN PASSWORD '$password'"
else
  psql_su -c "ALTER ROLE \"$role\" LOGIN PASSWORD '$password'"
fi
if [[ -z $(psql_su -c "SELECT 1 FROM pg_database WHERE datname = '$db'") ]]; then
  psql_su -c "CREATE DATABASE \"$db\" OWNER \"$role\""
fi

echo "postgres://$role:$password@127.0.0.1:$port/$db"
