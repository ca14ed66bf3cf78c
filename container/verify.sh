#!/usr/bin/env bash
# Build comprimemelo's container image with podman and check it for real:
#   1. the image: not root, lbzip2 and prlimit present, a HEALTHCHECK;
#   2. `comprimemelo serve` in it: healthy, then sign up, upload with the command-line
#      client, processed, download, the archives opened by bsdtar, a graceful stop;
#   3. compose.yaml with podman-compose: web + worker + PostgreSQL, the same round trip;
#   4. its cloud profile: the same on the Cloud Storage and Pub/Sub emulators.
#
#   container/verify.sh [image|compose|cloud|all]      (default: all; each step needs the ones before)
#
# Where no image registry is reachable, the base image is Debian 12 + python3 made with
# mmdebstrap, and PostgreSQL and the Pub/Sub emulator are stand-ins built from Debian's
# packages (container/standins). Set COMPRIMEMELO_BASE_IMAGE, POSTGRES_IMAGE and
# PUBSUB_EMULATOR_IMAGE to use real images instead. Downloads are cached in
# container/.cache (gitignored). Needs root or sudo for apt, and PYTHON (default python3)
# with comprimemelo installed: the round trips use its client. docs/container.md says more.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly ROOT
readonly CACHE="${ROOT}/container/.cache"
readonly PYTHON="${PYTHON:-python3}"
readonly IMAGE="localhost/comprimemelo:verify"
readonly LOCAL_BASE="localhost/comprimemelo-base:bookworm"
readonly POSTGRES_STANDIN="localhost/comprimemelo-postgres-standin:15"
readonly PUBSUB_STANDIN="localhost/comprimemelo-pubsub-standin:latest"
readonly PUBSUB_EMULATOR_DIR="/usr/lib/google-cloud-sdk/platform/pubsub-emulator"
readonly PROJECT_NAME="comprimemelo-verify"
readonly PASSWORD="a long secret for the container check"
readonly PACKAGES=(podman runc mmdebstrap golang-github-containernetworking-plugin-dnsname libarchive-tools curl)
readonly READY_SECONDS=180
# podman's own default for builds; this machine's sandbox refuses higher RLIMIT_NPROC values.
readonly NPROC_LIMIT=32768
WORK=""

log() { printf 'container/verify.sh: %s\n' "$*" >&2; }

# logged PATTERN [--not]: the last stack's logs (saved by stop_compose) hold PATTERN, or do not.
logged() {
  local found=yes
  grep -Eq "$1" "${CACHE}/compose-last.log" || found=no
  if [[ "${2:-}" == --not ]]; then
    [[ "${found}" == no ]] || fail "the logs show ${1} (${CACHE}/compose-last.log)"
  else
    [[ "${found}" == yes ]] || fail "the logs lack ${1} (${CACHE}/compose-last.log)"
  fi
}

fail() {
  log "FAILED: $*"
  exit 1
}

as_root() {
  if [[ "$(id -u)" -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

install_tools() {
  local missing=() package
  for package in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "${package}" 2>/dev/null | grep -q "ok installed" || missing+=("${package}")
  done
  if ((${#missing[@]})); then
    log "installing ${missing[*]}"
    as_root apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
  if [[ ! -x "${CACHE}/compose-venv/bin/podman-compose" ]]; then
    python3 -m venv "${CACHE}/compose-venv"
    "${CACHE}/compose-venv/bin/pip" install -q --disable-pip-version-check "podman-compose>=1.2"
  fi
}

configure_engine() {
  # runc: Debian 12's crun refuses a cgroups v1 + v2 hybrid; limits no higher than ours.
  local nofile
  nofile="$(ulimit -Hn)"
  cat >"${CACHE}/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=${nofile}:${nofile}", "nproc=${NPROC_LIMIT}:${NPROC_LIMIT}"]
[engine]
runtime = "runc"
EOF
  export CONTAINERS_CONF="${CACHE}/containers.conf"
  # pip inside the build trusts what this machine trusts (a TLS-inspecting proxy, say).
  printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' >"${CACHE}/pip.conf"
}

build() {
  podman build --format docker --network host \
    -v /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro \
    -v "${CACHE}/pip.conf:/etc/pip.conf:ro" "$@"
}

base_image() {
  if [[ -n "${COMPRIMEMELO_BASE_IMAGE:-}" ]]; then
    echo "${COMPRIMEMELO_BASE_IMAGE}"
    return
  fi
  if ! podman image exists "${LOCAL_BASE}"; then
    local tarball="${CACHE}/debian-bookworm-python.tar"
    if [[ ! -s "${tarball}" ]]; then
      log "making a Debian 12 + python3 base with mmdebstrap (no image registry here)"
      mmdebstrap --quiet --variant=minbase --include=python3,python3-venv,ca-certificates \
        bookworm "${tarball}" http://deb.debian.org/debian >&2
    fi
    podman import --quiet "${tarball}" "${LOCAL_BASE}" >/dev/null
  fi
  echo "${LOCAL_BASE}"
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_for() {
  local url="$1" deadline=$((SECONDS + READY_SECONDS))
  until curl -fsS -o /dev/null "${url}"; do
    ((SECONDS < deadline)) || fail "${url} never answered"
    sleep 1
  done
}

check_image() {
  local base
  base="$(base_image)"
  log "building ${IMAGE} on ${base}"
  build --build-arg "PYTHON_IMAGE=${base}" -t "${IMAGE}" "${ROOT}" >"${CACHE}/build.log" 2>&1 ||
    fail "the build failed: ${CACHE}/build.log"
  [[ "$(podman image inspect --format '{{.Config.User}}' "${IMAGE}")" == comprimemelo ]] || fail "the image runs as root"
  podman image inspect --format '{{.Config.Healthcheck.Test}}' "${IMAGE}" | grep -q healthz || fail "no HEALTHCHECK"
  podman run --rm --entrypoint sh "${IMAGE}" -c \
    'test "$(id -u)" -ne 0 && command -v lbzip2 >/dev/null && command -v prlimit >/dev/null && comprimemelo --version' \
    >/dev/null || fail "the image lacks its user or its tools"
  log "image: $(podman image inspect --format '{{.Size}}' "${IMAGE}") bytes, user comprimemelo, lbzip2 and prlimit present"
}

# round_trip SIGNUP_URL CLIENT_URL CLIENT...: sign up, log in, submit, wait, download, open.
round_trip() {
  local signup_url="$1" client_url="$2"
  shift 2
  local user="verify${RANDOM}" folder="out-${RANDOM}"
  local out="${WORK}/${folder}"
  mkdir -p "${out}"
  chmod 0777 "${out}"
  curl -fsS -X POST "${signup_url}/api/auth/signup" -H 'Content-Type: application/json' \
    -d "{\"username\":\"${user}\",\"email\":\"${user}@example.com\",\"password1\":\"${PASSWORD}\",\"password2\":\"${PASSWORD}\"}" \
    >/dev/null || fail "sign-up refused at ${signup_url}"
  printf '%s\n' "${PASSWORD}" | "$@" login "${client_url}" --username "${user}" >/dev/null || fail "login refused"
  (cd "${WORK}" && "$@" submit notes.txt --format tar.bz2 --wait --download "${folder}" --quiet >/dev/null) ||
    fail "tar.bz2 round trip"
  (cd "${WORK}" && "$@" submit notes.txt random.bin --format 7z --one-archive --chunked --wait \
    --download "${folder}" --quiet >/dev/null) || fail "7z round trip"
  mkdir -p "${out}/bz2" "${out}/7z"
  bsdtar -xf "${out}/notes.txt.tar.bz2" -C "${out}/bz2"
  bsdtar -xf "${out}"/archive-*.7z -C "${out}/7z"  # several files: archive-<task id>.7z
  if ! { cmp "${WORK}/notes.txt" "${out}/bz2/notes.txt" && cmp "${WORK}/notes.txt" "${out}/7z/notes.txt" &&
    cmp "${WORK}/random.bin" "${out}/7z/random.bin"; }; then
    fail "the archives do not hold the files"
  fi
  log "round trip at ${client_url}: sign-up, login, tar.bz2 and a chunked 7z of two files, downloaded and opened"
}

host_client() {
  env XDG_CONFIG_HOME="${WORK}/config" XDG_STATE_HOME="${WORK}/state" "${PYTHON}" -m comprimemelo "$@"
}

check_serve() {
  local port name="comprimemelo-verify-serve" status
  port="$(free_port)"
  podman rm -f "${name}" >/dev/null 2>&1 || true
  podman volume rm -f "${name}-data" >/dev/null 2>&1 || true
  podman run -d --name "${name}" -p "127.0.0.1:${port}:8000" -v "${name}-data:/data" "${IMAGE}" >/dev/null
  local deadline=$((SECONDS + READY_SECONDS))
  # podman's health-check timer needs systemd; run the image's check by hand.
  until podman healthcheck run "${name}" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || fail "serve never became healthy: $(podman logs "${name}" 2>&1 | tail -20)"
    sleep 1
  done
  log "serve: healthy (the image's HEALTHCHECK) on port ${port}"
  round_trip "http://127.0.0.1:${port}" "http://127.0.0.1:${port}" host_client
  podman stop -t 30 "${name}" >/dev/null
  status="$(podman inspect --format '{{.State.ExitCode}}' "${name}")"
  podman logs "${name}" >"${CACHE}/serve.log" 2>&1
  podman rm "${name}" >/dev/null
  podman volume rm "${name}-data" >/dev/null
  [[ "${status}" -eq 0 ]] || fail "serve exited ${status} on SIGTERM"
  if grep -E "Traceback|is not installed" "${CACHE}/serve.log"; then
    fail "serve logged an error or a missing tool (${CACHE}/serve.log)"
  fi
  log "serve: stopped cleanly (exit 0) on SIGTERM"
}

compose() {
  (cd "${ROOT}" && "${CACHE}/compose-venv/bin/podman-compose" -p "${PROJECT_NAME}" "$@")
}

postgres_image() {
  if [[ -n "${POSTGRES_IMAGE:-}" ]]; then
    echo "${POSTGRES_IMAGE}"
    return
  fi
  build --build-arg "BASE_IMAGE=$(base_image)" -t "${POSTGRES_STANDIN}" \
    -f "${ROOT}/container/standins/postgres.Containerfile" "${ROOT}/container/standins" >"${CACHE}/postgres-build.log" 2>&1 ||
    fail "the PostgreSQL stand-in did not build: ${CACHE}/postgres-build.log"
  echo "${POSTGRES_STANDIN}"
}

compose_env() {
  export COMPRIMEMELO_IMAGE="${IMAGE}"
  export COMPRIMEMELO_SECRET_KEY
  COMPRIMEMELO_SECRET_KEY="$(python3 -c 'import secrets; print(secrets.token_urlsafe(48))')"
  export COMPRIMEMELO_PORT
  COMPRIMEMELO_PORT="$(free_port)"
  export POSTGRES_IMAGE
  POSTGRES_IMAGE="$(postgres_image)"
}

stop_compose() {
  compose "$@" logs >"${CACHE}/compose-last.log" 2>&1 || true
  compose "$@" down -v >"${CACHE}/compose-down.log" 2>&1 || true
  # A restart policy may bring a container back while `down` removes the others.
  local label="label=io.podman.compose.project=${PROJECT_NAME}"
  podman ps -aq --filter "${label}" | xargs -r podman rm -f >/dev/null 2>&1 || true
  podman pod rm -f "pod_${PROJECT_NAME}" >/dev/null 2>&1 || true
  podman volume ls -q --filter "${label}" | xargs -r podman volume rm -f >/dev/null 2>&1 || true
  podman network rm -f "${PROJECT_NAME}_default" >/dev/null 2>&1 || true
}

check_compose() {
  compose_env
  log "compose: web + worker + PostgreSQL (${POSTGRES_IMAGE})"
  stop_compose
  trap stop_compose EXIT
  compose up -d --no-build >"${CACHE}/compose-up.log" 2>&1 || fail "compose up: ${CACHE}/compose-up.log"
  wait_for "http://127.0.0.1:${COMPRIMEMELO_PORT}/readyz"
  round_trip "http://127.0.0.1:${COMPRIMEMELO_PORT}" "http://127.0.0.1:${COMPRIMEMELO_PORT}" host_client
  stop_compose
  trap - EXIT
  logged 'PUT /api/uploads/[0-9a-f]+ (200|308)'  # chunks to the web role
  logged 'GET /api/tasks/[0-9]+/compressed 200'  # downloads streamed by it
  logged 'worker [0-9a-f]+ started'
  log "compose: database, queue in PostgreSQL, files in the shared volume: OK"
}

pubsub_image() {
  if [[ -n "${PUBSUB_EMULATOR_IMAGE:-}" ]]; then
    echo "${PUBSUB_EMULATOR_IMAGE}"
    return
  fi
  [[ -d "${PUBSUB_EMULATOR_DIR}" ]] || fail "no Pub/Sub emulator at ${PUBSUB_EMULATOR_DIR} (gcloud components install pubsub-emulator)"
  local context="${CACHE}/pubsub-context"
  rm -rf "${context}"
  mkdir -p "${context}"
  cp -r "${PUBSUB_EMULATOR_DIR}" "${context}/pubsub-emulator"
  cp "${ROOT}/container/standins/gcloud-standin.sh" "${context}/"
  build --build-arg "BASE_IMAGE=$(base_image)" -t "${PUBSUB_STANDIN}" \
    -f "${ROOT}/container/standins/pubsub.Containerfile" "${context}" >"${CACHE}/pubsub-build.log" 2>&1 ||
    fail "the Pub/Sub stand-in did not build: ${CACHE}/pubsub-build.log"
  echo "${PUBSUB_STANDIN}"
}

container_client() {
  podman run --rm -i --user 0 --network "${PROJECT_NAME}_default" -v "${WORK}:/work" -w /work \
    -e XDG_CONFIG_HOME=/work/cloud-config -e XDG_STATE_HOME=/work/cloud-state --entrypoint comprimemelo \
    "${IMAGE}" "$@"
}

check_cloud() {
  compose_env
  export PUBSUB_EMULATOR_IMAGE
  PUBSUB_EMULATOR_IMAGE="$(pubsub_image)"
  build --build-arg "PYTHON_IMAGE=$(base_image)" -t localhost/comprimemelo-gcs-emulator:latest \
    -f "${ROOT}/container/emulators/gcs.Containerfile" "${ROOT}/container/emulators" >"${CACHE}/gcs-build.log" 2>&1 ||
    fail "the Cloud Storage emulator did not build: ${CACHE}/gcs-build.log"
  local cloud=(--env-file container/cloud.env --profile cloud)
  log "cloud profile: Cloud Storage and Pub/Sub emulators (${PUBSUB_EMULATOR_IMAGE})"
  stop_compose "${cloud[@]}"
  trap 'stop_compose "${cloud[@]}"' EXIT
  compose "${cloud[@]}" up -d --no-build >"${CACHE}/cloud-up.log" 2>&1 || fail "compose up: ${CACHE}/cloud-up.log"
  wait_for "http://127.0.0.1:${COMPRIMEMELO_PORT}/readyz"
  # Upload and download URLs name the emulator as the containers see it: the client runs among them.
  round_trip "http://127.0.0.1:${COMPRIMEMELO_PORT}" "http://web:8000" container_client
  stop_compose "${cloud[@]}"
  trap - EXIT
  logged 'PUT /api/uploads/' --not                # chunks went to the Cloud Storage session
  logged 'GET /api/tasks/[0-9]+/compressed 302'  # downloads: signed URLs
  logged 'This is the Google Pub/Sub fake'
  log "cloud profile: objects in the Cloud Storage emulator, tasks through Pub/Sub: OK"
}

prepare_work() {
  WORK="$(mktemp -d)"
  chmod 0755 "${WORK}"
  seq 1 200000 >"${WORK}/notes.txt"
  head -c 3000000 /dev/urandom >"${WORK}/random.bin"
  chmod 0644 "${WORK}/notes.txt" "${WORK}/random.bin"
}

main() {
  local steps="${1:-all}"
  mkdir -p "${CACHE}"
  install_tools
  configure_engine
  prepare_work
  check_image
  check_serve
  if [[ "${steps}" == compose || "${steps}" == cloud || "${steps}" == all ]]; then
    check_compose
  fi
  if [[ "${steps}" == cloud || "${steps}" == all ]]; then
    check_cloud
  fi
  rm -rf "${WORK}"
  log "all checks passed (${steps})"
}

main "$@"
