#!/usr/bin/env bash
# Install the system packages the test suite talks to: a real browser, the
# compression CLIs it compares against, PostgreSQL 15, Java for Google's
# Pub/Sub emulator, and the static checkers for the infrastructure code.
# Idempotent; needs root (or sudo). Debian 12.
set -euo pipefail

readonly PACKAGES=(
  chromium                      # browser tests (driven by playwright)
  postgresql-15                 # throwaway test clusters (initdb, pg_ctl)
  openjdk-17-jre-headless       # Pub/Sub emulator
  pigz pbzip2 zstd xz-utils 7zip zip unzip
  lbzip2                        # tar.bz2's encoder (a child process of the core)
  libdeflate-tools pixz         # benchmark references (libdeflate-gzip, pixz)
  libarchive-tools              # bsdtar: archives are checked with libarchive too
  shellcheck packer
  wrk                           # bench-api's closed-loop generator (capacity/wrk.py)
)

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing_packages() {
  local package
  for package in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
      || printf '%s\n' "$package"
  done
}

# npm fetches the google provider's schema (@cdktf/provider-google) for
# tests/infra; any npm will do (NodeSource's nodejs bundles one).
ensure_npm() {
  command -v npm >/dev/null 2>&1 && return 0
  echo "system packages: installing npm"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm
}

# loadtest, bench-api's open-loop generator (capacity/openloop.py), pinned in
# capacity/package-lock.json.
install_node_tools() {
  local capacity
  capacity="$(dirname "$0")/../capacity"
  [ -d "$capacity/node_modules/loadtest" ] && return 0
  echo "node tools: npm ci in capacity/"
  npm ci --prefix "$capacity" --no-audit --no-fund --loglevel=error
}

main() {
  local missing
  ensure_npm
  mapfile -t missing < <(missing_packages)
  if [ "${#missing[@]}" -eq 0 ]; then
    echo "system packages: all present"
  else
    echo "system packages: installing ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
  install_node_tools
}

main "$@"
