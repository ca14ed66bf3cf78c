#!/usr/bin/env bash
# Image provisioning for comprimemelo (run by packer as root on Debian 12).
#
# Inputs (environment): COMPRIMEMELO_ROLE (web|worker), COMPRIMEMELO_WHEEL
# (path of the uploaded wheel), COMPRIMEMELO_UNITS_DIR (uploaded unit files).
# Idempotent: re-running converges to the same state.
set -euo pipefail

readonly ROLE="${COMPRIMEMELO_ROLE:?COMPRIMEMELO_ROLE must be web or worker}"
readonly WHEEL="${COMPRIMEMELO_WHEEL:?COMPRIMEMELO_WHEEL must name the wheel}"
readonly UNITS_DIR="${COMPRIMEMELO_UNITS_DIR:?COMPRIMEMELO_UNITS_DIR must name the unit directory}"
readonly SERVICE_USER="comprimemelo"
readonly APP_DIR="/opt/comprimemelo"
readonly VENV="${APP_DIR}/venv"
readonly TEMP_DIR="/var/tmp/comprimemelo"
readonly OPS_AGENT_SCRIPT_URL="https://dl.google.com/cloudagents/add-google-cloud-ops-agent-repo.sh"
export DEBIAN_FRONTEND=noninteractive

log() {
  echo "provision[${ROLE}]: $*" >&2
}

check_role() {
  case "${ROLE}" in
    web) METRICS_PORT=8000 ;;
    worker) METRICS_PORT=9100 ;;
    *)
      log "invalid role '${ROLE}' (expected web or worker)"
      exit 1
      ;;
  esac
  readonly METRICS_PORT
}

install_packages() {
  log "installing system packages"
  apt-get update -q
  apt-get install -y -q --no-install-recommends \
    python3.11-venv python3-pip ca-certificates curl
  if [[ "${ROLE}" == worker ]]; then
    # tar.bz2 is written by lbzip2 (1.5x libbz2's speed), capped by prlimit (util-linux).
    apt-get install -y -q --no-install-recommends lbzip2 util-linux
  fi
  apt-get upgrade -y -q
}

create_service_user() {
  if ! getent passwd "${SERVICE_USER}" >/dev/null; then
    log "creating system user ${SERVICE_USER}"
    useradd --system --user-group --no-create-home \
      --home-dir /nonexistent --shell /usr/sbin/nologin "${SERVICE_USER}"
  fi
  install -d -m 0750 -o root -g "${SERVICE_USER}" /etc/comprimemelo
  install -d -m 0750 -o "${SERVICE_USER}" -g "${SERVICE_USER}" "${TEMP_DIR}"
  # Recreate the temp dir at boot (/var/tmp survives, but be explicit).
  echo "d ${TEMP_DIR} 0750 ${SERVICE_USER} ${SERVICE_USER} 7d" >/etc/tmpfiles.d/comprimemelo.conf
}

install_app() {
  log "installing ${WHEEL} into ${VENV}"
  install -d -m 0755 "${APP_DIR}"
  if [[ ! -x "${VENV}/bin/python" ]]; then
    python3.11 -m venv "${VENV}"
  fi
  "${VENV}/bin/pip" install --quiet --no-cache-dir --upgrade pip
  "${VENV}/bin/pip" install --quiet --no-cache-dir "${WHEEL}"
  "${VENV}/bin/comprimemelo" --version
}

install_ops_agent() {
  log "installing the Google Cloud Ops Agent"
  if ! dpkg -s google-cloud-ops-agent >/dev/null 2>&1; then
    local script
    script="$(mktemp)"
    curl -sSfL -o "${script}" "${OPS_AGENT_SCRIPT_URL}"
    bash "${script}" --also-install
    rm -f "${script}"
  fi
  install -d -m 0755 /etc/google-cloud-ops-agent
  cat >/etc/google-cloud-ops-agent/config.yaml <<YAML
# comprimemelo ${ROLE}: unit logs from journald, Prometheus metrics from the app.
logging:
  receivers:
    comprimemelo_journald:
      type: systemd_journald
  processors:
    comprimemelo_only:
      type: exclude_logs
      match_any:
        - 'jsonPayload._SYSTEMD_UNIT !~ "^comprimemelo-"'
  service:
    pipelines:
      comprimemelo:
        receivers: [comprimemelo_journald]
        processors: [comprimemelo_only]
metrics:
  receivers:
    comprimemelo_prometheus:
      type: prometheus
      config:
        scrape_configs:
          - job_name: comprimemelo-${ROLE}
            scrape_interval: 30s
            metrics_path: /metrics
            static_configs:
              - targets: ["127.0.0.1:${METRICS_PORT}"]
  service:
    pipelines:
      comprimemelo:
        receivers: [comprimemelo_prometheus]
YAML
  systemctl enable google-cloud-ops-agent.service
}

install_units() {
  log "installing systemd units; enabling comprimemelo-${ROLE}.service only"
  local unit
  for unit in comprimemelo-web.service comprimemelo-worker.service; do
    install -m 0644 "${UNITS_DIR}/${unit}" "/etc/systemd/system/${unit}"
  done
  systemctl daemon-reload
  systemctl disable comprimemelo-web.service comprimemelo-worker.service >/dev/null 2>&1 || true
  systemctl enable "comprimemelo-${ROLE}.service"
}

clean_up() {
  apt-get clean
  rm -rf /var/lib/apt/lists/* "$(dirname "${WHEEL}")"
}

main() {
  check_role
  install_packages
  create_service_user
  install_app
  install_ops_agent
  install_units
  clean_up
  log "done"
}

main "$@"
