#!/usr/bin/env bash
# Run every capacity scenario against a local `comprimemelo serve`, on SQLite and on
# PostgreSQL, plus the list-tasks ramp, into capacity/reports/<backend>/<scenario>;
# then write capacity/reports/README.md. Usage: capacity/run-all.sh [NOTE]
# (run from anywhere; BACKENDS="embedded" to run one backend only.)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
readonly REPORTS=capacity/reports
readonly NOTE="${1:-}"
readonly BACKENDS="${BACKENDS:-embedded postgres}"

run() {
  local backend=$1 name=$2
  shift 2
  local args=(--serve "$backend" --out "$REPORTS/$backend/$name")
  if [[ -n "$NOTE" ]]; then
    args+=(--note "$NOTE")
  fi
  echo "=== $backend $name: $*"
  python -m capacity "$@" "${args[@]}"
}

run_backend() {
  local backend=$1
  run "$backend" list-tasks-ramp ramp --scenario list-tasks \
    --steps 25,50,100,200,400,800 --step-duration 20s --p95-ms 1000 --spawn-rate 50
  run "$backend" list-tasks run --scenario list-tasks --users 100 --spawn-rate 50 --duration 30s
  run "$backend" signup run --scenario signup --users 8 --spawn-rate 8 --duration 30s
  run "$backend" login run --scenario login --users 8 --spawn-rate 8 --accounts 10 --duration 30s
  run "$backend" convert run --scenario convert --users 8 --spawn-rate 8 --accounts 8 --duration 45s \
    --file-size 5MB --formats zip,tar.gz,tar.zst
  run "$backend" mixed run --scenario mixed --users 100 --spawn-rate 50 --duration 30s
}

main() {
  local backend
  for backend in $BACKENDS; do
    run_backend "$backend"
  done
  python -m capacity summary "$REPORTS"
}

main
