#!/usr/bin/env bash
# `gcloud beta emulators pubsub start --host-port=HOST:PORT [--project=P]`, the one gcloud
# command compose.yaml gives the Pub/Sub emulator, run straight on the emulator.
set -euo pipefail

main() {
  local host_port="0.0.0.0:8085" argument
  for argument in "$@"; do
    case "${argument}" in
      --host-port=*) host_port="${argument#--host-port=}" ;;
    esac
  done
  exec /opt/pubsub-emulator/bin/cloud-pubsub-emulator --host="${host_port%:*}" --port="${host_port##*:}"
}

main "$@"
