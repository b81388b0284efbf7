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

# `make` creates .venv with `python3 -m venv`; on Debian that needs python3-venv (ensurepip).
ensure_python_venv() {
  if command -v python3 >/dev/null && python3 -c 'import ensurepip, venv' 2>/dev/null; then
    log "python3 with venv: present"; return
  fi
  apt_install python3-venv
}

ensure_make
ensure_python_venv
ensure_postgresql
