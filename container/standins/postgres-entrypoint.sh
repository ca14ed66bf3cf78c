#!/usr/bin/env bash
# The official postgres image's first-start contract, as far as compose.yaml uses it:
# an empty PGDATA gets a cluster owned by POSTGRES_USER (password POSTGRES_PASSWORD,
# scram-sha-256 over TCP) and a database POSTGRES_DB; then the server listens on all
# addresses.
set -euo pipefail

initialise() {
  local user="${POSTGRES_USER:-postgres}" password_file
  password_file="$(mktemp)"
  printf '%s\n' "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set}" >"${password_file}"
  initdb --username="${user}" --pwfile="${password_file}" --auth-local=trust --auth-host=scram-sha-256 \
    --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  rm -f "${password_file}"
  echo "host all all all scram-sha-256" >>"${PGDATA}/pg_hba.conf"
  local database="${POSTGRES_DB:-${user}}"
  if [[ "${database}" != postgres ]]; then
    echo "CREATE DATABASE \"${database}\" OWNER \"${user}\"" | postgres --single -D "${PGDATA}" template1 >/dev/null
  fi
}

main() {
  if [[ ! -s "${PGDATA}/PG_VERSION" ]]; then
    initialise
  fi
  if [[ "${1:-}" == postgres ]]; then
    shift
    exec postgres -c listen_addresses='*' "$@"
  fi
  exec "$@"
}

main "$@"
