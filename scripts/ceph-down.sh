#!/usr/bin/env bash
# Stop the daemons scripts/ceph-up.sh started, by the pids in their pid files
# (gateways first, the monitor last), waiting for each to exit.
#
#   CEPH_DIR=/tmp/dds-ceph bash scripts/ceph-down.sh [--purge]
set -uo pipefail
D=$(realpath -m "${CEPH_DIR:-${TMPDIR:-/tmp}/dds-ceph}")
[ -d "$D/run" ] || exit 0

stop () {
  local f=$1 pid
  pid=$(cat "$f" 2>/dev/null) || return 0
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null; fi
    echo "ceph-down: stopped $(basename "$f" .pid) (pid $pid)" >&2
  fi
  rm -f "$f"
}

for f in "$D"/run/client.rgw.*.pid; do [ -e "$f" ] && stop "$f"; done
for f in "$D"/run/osd.*.pid; do [ -e "$f" ] && stop "$f"; done
for f in "$D"/run/mon.*.pid; do [ -e "$f" ] && stop "$f"; done
if [ "${1:-}" = "--purge" ]; then rm -rf "$D"; fi
exit 0
