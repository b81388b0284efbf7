#!/usr/bin/env bash
# Install the system packages the build and the tests need, only those that are missing.
# Debian/Ubuntu. Run as root (or with sudo available). Safe to run again: it then does nothing.
# To add a dependency: write an ensure_<name> function and call it at the bottom.
set -euo pipefail

log() { echo "install-system-deps: $*"; }

SUDO=()

APT_UPDATED=0
apt_install() {
  command -v apt-get >/dev/null || { log "no apt-get: install $* by hand" >&2; exit 1; }
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { log "missing $*: run this as root" >&2; exit 1; }
    SUDO=(sudo)
  fi
  if [[ $APT_UPDATED -eq 0 ]]; then
    log "apt-get update"
    "${SUDO[@]}" apt-get update -q
    APT_UPDATED=1
  fi
  log "installing: $*"
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" </dev/null
}

# Same rule as tests/support/postgres.py find_pg_bin(): a directory holding initdb, pg_ctl
# and postgres, from `pg_config --bindir`, /usr/lib/postgresql/*/bin or PATH.
has_pg_server_bin() {
  local dir candidates=()
  if command -v pg_config >/dev/null; then
    candidates+=("$(pg_config --bindir 2>/dev/null || true)")
  fi
  candidates+=(/usr/lib/postgresql/*/bin)
  if command -v pg_ctl >/dev/null; then
    candidates+=("$(dirname "$(readlink -f "$(command -v pg_ctl)")")")
  fi
  for dir in "${candidates[@]}"; do
    [[ -f $dir/initdb && -f $dir/pg_ctl && -f $dir/postgres ]] && return 0
  done
  return 1
}

ensure_postgresql() {
  if has_pg_server_bin; then log "PostgreSQL server binaries: present"; return; fi
  apt_install postgresql
}

ensure_make() {
  if command -v make >/dev/null; then log "make: present"; return; fi
  apt_install make
}

# The git CLI that fetches the source of builds from repositories (runtime/git.py).
ensure_git() {
  if command -v git >/dev/null; then log "git: present"; return; fi
  apt_install git
}

# `make` creates .venv with `python3 -m venv`; on Debian that needs python3-venv (ensurepip).
ensure_python_venv() {
  if command -v python3 >/dev/null && python3 -c 'import ensurepip, venv' 2>/dev/null; then
    log "python3 with venv: present"; return
  fi
  apt_install python3-venv
}

# The Docker Engine for the runtime and its tests (tests/support/docker.py), plus the static
# busybox that test images are built from (no registry is reachable, so they are FROM scratch).
# The engine is started without touching the firewall: containers use host networking.
DOCKER_SOCKET=/var/run/docker.sock
DOCKERD_LOG=/var/log/dockerd.log
DOCKER_PIDFILE=/var/run/docker.pid
DOCKER_START_TIMEOUT=600

as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"; return; fi
  command -v sudo >/dev/null || { log "$1 needs root: run this as root" >&2; exit 1; }
  sudo "$@"
}

# True when the engine answers GET /_ping on its socket (python3 only: no curl, no CLI needed).
docker_answers() {
  as_root python3 - "$DOCKER_SOCKET" <<'PY' 2>/dev/null
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(2)
s.connect(sys.argv[1])
s.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
sys.exit(0 if s.recv(64).split(b" ")[1:2] == [b"200"] else 1)
PY
}

ensure_docker() {
  if ! command -v dockerd >/dev/null; then apt_install docker.io; fi
  if [[ ! -x /bin/busybox ]]; then apt_install busybox-static; fi
  if docker_answers; then log "Docker engine: answering on $DOCKER_SOCKET"; return; fi
  local pid=""
  [[ -f $DOCKER_PIDFILE ]] && pid=$(cat "$DOCKER_PIDFILE" 2>/dev/null || true)
  if [[ -n $pid ]] && as_root kill -0 "$pid" 2>/dev/null; then
    log "dockerd (pid $pid) is starting: waiting for it"
  else
    log "starting dockerd --iptables=false --bridge=none (log: $DOCKERD_LOG)"
    as_root sh -c "setsid dockerd --iptables=false --bridge=none >>'$DOCKERD_LOG' 2>&1 </dev/null &"
  fi
  local deadline=$((SECONDS + DOCKER_START_TIMEOUT))
  until docker_answers; do
    if (( SECONDS >= deadline )); then
      log "the Docker engine did not answer on $DOCKER_SOCKET within ${DOCKER_START_TIMEOUT} s;" \
        "last lines of $DOCKERD_LOG:" >&2
      as_root tail -n 20 "$DOCKERD_LOG" >&2 || true
      exit 1
    fi
    sleep 0.2
  done
  log "Docker engine: started, answering on $DOCKER_SOCKET"
}

# `ip` for the multi-node test cluster's bridge and network namespaces (tests/support/netns.py);
# nsenter and unshare come with util-linux, which Debian always has.
ensure_iproute2() {
  if command -v ip >/dev/null; then log "ip (iproute2): present"; return; fi
  apt_install iproute2
}

# Debian's docker-registry: the tests' private image registry (tests/support/registry.py), which
# the tests start themselves on a free port. Without systemd the package's init script could
# start a system registry on port 5000 at install time; one started so is stopped again, so
# that nothing of the package keeps running. (Here policy-rc.d and the unknown runlevel
# already keep it from starting.)
REGISTRY_PIDFILE=/var/run/docker-registry.pid
ensure_docker_registry() {
  if command -v docker-registry >/dev/null; then log "docker-registry: present"; return; fi
  apt_install docker-registry
  if [[ -f $REGISTRY_PIDFILE ]] && as_root kill -0 "$(cat "$REGISTRY_PIDFILE")" 2>/dev/null; then
    log "stopping the system registry the package started (the tests run their own)"
    as_root /etc/init.d/docker-registry stop || true
  fi
}

# Debian's Chromium for the console's browser tests (tests/support/browser.py): Playwright
# drives it by path; its own browser downloads cannot work on these machines.
ensure_chromium() {
  if [[ -x /usr/bin/chromium ]]; then log "Chromium: present"; return; fi
  apt_install chromium
}

ensure_make
ensure_git
ensure_python_venv
ensure_postgresql
ensure_docker
ensure_docker_registry
ensure_iproute2
ensure_chromium
