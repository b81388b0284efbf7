#!/usr/bin/env bash
# A local cluster to try the swarm runtime on one machine: a registry (Debian's
# docker-registry) on 127.0.0.1 and the machine's Docker engine made a single-node swarm.
#
#   bash scripts/local-swarm.sh up      # install what is missing, start both, print the env
#   bash scripts/local-swarm.sh status
#   bash scripts/local-swarm.sh down    # stop the registry, leave the swarm this script made
#
# Then: LEDGER_RUNTIME=swarm LEDGER_REGISTRY=127.0.0.1:5000 make run
# The tests do not need this: they start their own registry and swarm (see the README).
set -euo pipefail
cd "$(dirname "$0")/.."

REGISTRY_ADDR=${LEDGER_LOCAL_REGISTRY:-127.0.0.1:5000}
STATE=${LEDGER_LOCAL_SWARM_STATE:-/var/lib/deploy-ledger-local-swarm}
PIDFILE=$STATE/registry.pid
MADE=$STATE/swarm-made-here

log() { echo "local-swarm: $*"; }

registry_running() { [[ -f $PIDFILE ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }
swarm_state() { docker info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null || echo unknown; }

up() {
  bash scripts/install-system-deps.sh
  mkdir -p "$STATE/data"
  if registry_running; then
    log "registry: running (pid $(cat "$PIDFILE")) on $REGISTRY_ADDR"
  else
    cat >"$STATE/config.yml" <<EOF
version: 0.1
log: {level: warn}
storage:
  filesystem: {rootdirectory: $STATE/data}
  delete: {enabled: true}
http: {addr: $REGISTRY_ADDR}
EOF
    setsid docker-registry serve "$STATE/config.yml" >>"$STATE/registry.log" 2>&1 </dev/null &
    echo $! >"$PIDFILE"
    for _ in $(seq 50); do
      python3 -c "import urllib.request as u; u.urlopen('http://$REGISTRY_ADDR/v2/', timeout=1)" \
        2>/dev/null && break
      sleep 0.1
    done
    log "registry: started on $REGISTRY_ADDR (data in $STATE/data, log $STATE/registry.log)"
  fi
  if [[ $(swarm_state) == inactive ]]; then
    docker swarm init --advertise-addr 127.0.0.1 --listen-addr 127.0.0.1:2377 >/dev/null
    touch "$MADE"
    log "swarm: initialised, single node, advertised on 127.0.0.1"
  else
    log "swarm: already $(swarm_state): used as it is"
  fi
  log "now run: LEDGER_RUNTIME=swarm LEDGER_REGISTRY=$REGISTRY_ADDR make run"
}

status() {
  if registry_running; then log "registry: running on $REGISTRY_ADDR"; else log "registry: stopped"; fi
  log "swarm: $(swarm_state)"
}

down() {
  if registry_running; then
    kill "$(cat "$PIDFILE")"
    log "registry: stopped"
  fi
  rm -f "$PIDFILE"
  if [[ -f $MADE ]]; then
    docker swarm leave --force >/dev/null
    rm -f "$MADE"
    log "swarm: left (it was made by this script)"
  fi
}

case ${1:-} in
  up) up ;;
  status) status ;;
  down) down ;;
  *) echo "usage: $0 up|status|down" >&2; exit 2 ;;
esac
