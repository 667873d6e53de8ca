#!/usr/bin/env bash
# Install what scripts/ceph-up.sh needs, from Debian's packages (Ceph 16.2 on
# Debian 12): the monitor, the OSD, the RADOS Gateway and the admin tools.
# Does nothing when they are already there.
set -euo pipefail
need=()
for tool in ceph-mon ceph-osd radosgw radosgw-admin uuidgen curl; do
  command -v "$tool" >/dev/null || need+=("$tool")
done
[ ${#need[@]} -eq 0 ] && exit 0
run=()
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "ceph-install: need root (or sudo) to install ${need[*]}" >&2; exit 1; }
  run=(sudo -n)
fi
export DEBIAN_FRONTEND=noninteractive
"${run[@]}" apt-get update -qq
"${run[@]}" apt-get install -y -qq --no-install-recommends radosgw ceph-mon ceph-osd ceph-common uuid-runtime curl >/dev/null
echo "ceph-install: installed $(ceph-mon --version | cut -d' ' -f1-3)" >&2
