#!/usr/bin/env bash
# comprimemelo VM start-up script (GCE `startup-script` metadata).
#
# Reads the instance's configuration from the metadata server, fetches the
# JWT signing key from Secret Manager, writes /etc/comprimemelo/env
# atomically, upgrades the schema (web role only; the app takes a PostgreSQL
# advisory lock so concurrent VMs are safe) and starts the role's unit.
# Idempotent: running it again rewrites the same file and restarts nothing
# that is already running.
#
# Overridable for tests: METADATA_URL, SECRET_MANAGER_URL, ROOT_DIR,
# SYSTEMCTL, COMPRIMEMELO_BIN, RUN_AS.
set -euo pipefail

readonly LOG_TAG="comprimemelo-startup"
readonly SERVICE_USER="comprimemelo"
readonly METADATA_URL="${METADATA_URL:-http://metadata.google.internal/computeMetadata/v1}"
readonly SECRET_MANAGER_URL="${SECRET_MANAGER_URL:-https://secretmanager.googleapis.com}"
readonly ROOT_DIR="${ROOT_DIR:-}"
readonly SYSTEMCTL="${SYSTEMCTL:-systemctl}"
readonly COMPRIMEMELO_BIN="${COMPRIMEMELO_BIN:-/opt/comprimemelo/venv/bin/comprimemelo}"
readonly RUN_AS="${RUN_AS-runuser -u ${SERVICE_USER} --}"
readonly CURL_RETRIES=5
readonly CURL_TIMEOUT_SECONDS=10
readonly ENV_DIR="${ROOT_DIR}/etc/comprimemelo"
readonly ENV_FILE="${ENV_DIR}/env"

log() {
  local message="$*"
  echo "${LOG_TAG}: ${message}" >&2
  if command -v logger >/dev/null 2>&1; then
    logger -t "${LOG_TAG}" -- "${message}" || true
  fi
}

die() {
  log "ERROR: $*"
  exit 1
}

# metadata_get PATH -> prints the value; non-zero if absent.
metadata_get() {
  local path="$1"
  curl --silent --show-error --fail \
    --retry "${CURL_RETRIES}" --retry-connrefused \
    --max-time "${CURL_TIMEOUT_SECONDS}" \
    -H "Metadata-Flavor: Google" \
    "${METADATA_URL}/${path}"
}

# require_attribute NAME -> prints instance attribute NAME or exits naming it.
require_attribute() {
  local name="$1"
  local value
  if ! value="$(metadata_get "instance/attributes/${name}" 2>/dev/null)" || [[ -z "${value}" ]]; then
    die "missing instance metadata attribute '${name}'"
  fi
  printf '%s' "${value}"
}

# json_field FIELD -> reads JSON on stdin, prints top-level FIELD.
json_field() {
  python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]], end="")' "$1"
}

access_token() {
  metadata_get "instance/service-accounts/default/token" | json_field access_token
}

# fetch_secret PROJECT SECRET -> prints the latest version's payload.
fetch_secret() {
  local project="$1" secret="$2" token
  token="$(access_token)" || die "could not get an access token from the metadata server"
  curl --silent --show-error --fail \
    --retry "${CURL_RETRIES}" --retry-connrefused \
    --max-time "${CURL_TIMEOUT_SECONDS}" \
    -H "Authorization: Bearer ${token}" \
    "${SECRET_MANAGER_URL}/v1/projects/${project}/secrets/${secret}/versions/latest:access" |
    python3 -c 'import base64, json, sys; sys.stdout.write(base64.b64decode(json.load(sys.stdin)["payload"]["data"]).decode())'
}

# write_env_file CONTENT -> atomically replaces ENV_FILE (mode 0640).
write_env_file() {
  local content="$1" tmp
  mkdir -p "${ENV_DIR}"
  tmp="$(mktemp "${ENV_DIR}/.env.XXXXXX")"
  chmod 0640 "${tmp}"
  if getent group "${SERVICE_USER}" >/dev/null 2>&1; then
    chgrp "${SERVICE_USER}" "${tmp}" || log "could not chgrp ${tmp} to ${SERVICE_USER}"
  fi
  printf '%s\n' "${content}" >"${tmp}"
  mv -f "${tmp}" "${ENV_FILE}"
  log "wrote ${ENV_FILE}"
}

run_as_service_user() {
  local -a prefix=()
  if [[ -n "${RUN_AS}" ]]; then
    read -r -a prefix <<<"${RUN_AS}"
  fi
  "${prefix[@]}" "$@"
}

upgrade_schema() {
  log "upgrading the database schema"
  run_as_service_user "${COMPRIMEMELO_BIN}" db upgrade
}

start_unit() {
  local role="$1"
  log "enabling and starting comprimemelo-${role}.service"
  ${SYSTEMCTL} enable --now "comprimemelo-${role}.service"
}

main() {
  local project sa_email role cloudsql database bucket topic subscription secret_name retention max_retention
  local secret_value content

  role="$(require_attribute comprimemelo-role)"
  case "${role}" in
    web | worker) ;;
    *) die "invalid comprimemelo-role '${role}' (expected web or worker)" ;;
  esac
  log "configuring the ${role} role"

  project="$(metadata_get project/project-id)" || die "could not read project/project-id"
  sa_email="$(metadata_get instance/service-accounts/default/email)" ||
    die "could not read the default service account email"
  cloudsql="$(require_attribute comprimemelo-cloudsql-instance)"
  database="$(require_attribute comprimemelo-database-name)"
  bucket="$(require_attribute comprimemelo-bucket)"
  topic="$(require_attribute comprimemelo-topic)"
  subscription="$(require_attribute comprimemelo-subscription)"
  secret_name="$(require_attribute comprimemelo-secret-name)"
  retention="$(require_attribute comprimemelo-retention-seconds)"
  max_retention="$(require_attribute comprimemelo-max-retention-seconds)"

  content="COMPRIMEMELO_MODE=production
COMPRIMEMELO_CLOUDSQL_INSTANCE=${cloudsql}
COMPRIMEMELO_DATABASE_NAME=${database}
COMPRIMEMELO_DATABASE_USER=${sa_email%.gserviceaccount.com}
COMPRIMEMELO_STORAGE_URL=gs://${bucket}/
COMPRIMEMELO_QUEUE_URL=pubsub://${project}/${topic}/${subscription}
COMPRIMEMELO_RETENTION_SECONDS=${retention}
COMPRIMEMELO_MAX_RETENTION_SECONDS=${max_retention}"

  if [[ "${role}" == "worker" ]]; then
    local dead_letter
    dead_letter="$(require_attribute comprimemelo-dead-letter-subscription)"
    content+="
COMPRIMEMELO_DEAD_LETTER_SUBSCRIPTION=projects/${project}/subscriptions/${dead_letter}"
  else
    local public_url
    public_url="$(require_attribute comprimemelo-public-url)"
    # Google's HTTPS load balancer appends "<client>,<balancer>" to
    # X-Forwarded-For: the client address is two hops back (rate limits).
    content+="
COMPRIMEMELO_PUBLIC_URL=${public_url}
COMPRIMEMELO_PROXY_HOPS=2"
  fi

  secret_value="$(fetch_secret "${project}" "${secret_name}")" ||
    die "could not read secret '${secret_name}' from Secret Manager"
  [[ -n "${secret_value}" ]] || die "secret '${secret_name}' is empty"

  content+="
COMPRIMEMELO_SECRET_KEY=${secret_value}
COMPRIMEMELO_HOST=0.0.0.0
COMPRIMEMELO_PORT=8000"

  write_env_file "${content}"

  if [[ "${role}" == "web" ]]; then
    upgrade_schema
  fi
  start_unit "${role}"
  log "done"
}

main "$@"
