#!/usr/bin/env bash
# Start a one-node Ceph cluster on loopback for the remote-store tests:
# one monitor, one BlueStore OSD on a sparse file, and one RADOS Gateway per
# port in RGW_PORTS, all over the same cluster (two gateways are two
# "machines" sharing one bucket namespace). Every daemon writes its pid file
# under $CEPH_DIR/run; scripts/ceph-down.sh stops them by those pids.
#
#   CEPH_DIR=/tmp/dds-ceph RGW_PORTS="7480 7481" bash scripts/ceph-up.sh
#
# The OSD lives in a sparse file of CEPH_OSD_BYTES (default 32 GiB): only what
# is written takes disk space. Deleted objects are reclaimed within a minute.
#
# Needs: apt-get install -y --no-install-recommends radosgw ceph-mon ceph-osd ceph-common uuid-runtime curl
# Prints the endpoints (comma-separated) on the last line of stdout and writes
# them, with the credentials, to $CEPH_DIR/env (shell syntax, for `source`).
set -euo pipefail

D=$(realpath -m "${CEPH_DIR:-${TMPDIR:-/tmp}/dds-ceph}")
RGW_PORTS=${RGW_PORTS:-"7480 7481"}
MON_PORT=${MON_PORT:-40000}
ACCESS=${CEPH_ACCESS_KEY:-ddsaccess}
SECRET=${CEPH_SECRET_KEY:-ddssecret}

for tool in ceph-mon ceph-osd radosgw radosgw-admin ceph-authtool monmaptool uuidgen curl; do
  command -v "$tool" >/dev/null || { echo "ceph-up: $tool is not installed" >&2; exit 1; }
done
if [ -d "$D/run" ] && ls "$D"/run/*.pid >/dev/null 2>&1; then
  echo "ceph-up: $D has pid files; run scripts/ceph-down.sh first" >&2
  exit 1
fi

rm -rf "$D"
mkdir -p "$D"/{mon/a,osd/0,run,log}
FSID=$(uuidgen)
C=(-c "$D/ceph.conf")

{
cat <<EOF2
[global]
fsid = $FSID
mon host = v2:127.0.0.1:$MON_PORT
mon initial members = a
auth cluster required = none
auth service required = none
auth client required = none
keyring = $D/keyring
run dir = $D/run
admin socket = $D/run/\$name.asok
log file = $D/log/\$name.log
pid file = $D/run/\$name.pid
ms bind ipv4 = true
ms bind ipv6 = false
public addr = 127.0.0.1
cluster addr = 127.0.0.1
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
ms mon client mode = crc secure
ms client mode = crc secure
ms mon service mode = crc secure
ms service mode = crc secure
ms cluster mode = crc secure
ms mon cluster mode = crc secure
osd crush chooseleaf type = 0
mon pg warn min per osd = 0
[mon]
mon data = $D/mon/\$id
[osd]
osd data = $D/osd/\$id
osd objectstore = bluestore
bluestore block create = true
bluestore block size = ${CEPH_OSD_BYTES:-34359738368}
bluestore fsck on mount = false
osd memory target = 1073741824
osd max object name len = 460
osd max object namespace len = 64
EOF2
i=0
for port in $RGW_PORTS; do
  cat <<EOF2
[client.rgw.g$i]
rgw data = $D/rgw/g$i
rgw frontends = beast endpoint=127.0.0.1:$port tcp_nodelay=1
rgw dns name = localhost
rgw gc obj min wait = 10
rgw gc processor period = 20
EOF2
  i=$((i + 1))
done
} > "$D/ceph.conf"

ceph-authtool --create-keyring "$D/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
ceph-authtool "$D/keyring" --gen-key -n client.admin --cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' >/dev/null
monmaptool --create --fsid "$FSID" --addv a "[v2:127.0.0.1:$MON_PORT]" "$D/monmap" >/dev/null
ceph-mon "${C[@]}" --mkfs -i a --monmap "$D/monmap" --keyring "$D/keyring"
ceph-mon "${C[@]}" -i a
OSD_UUID=$(uuidgen)
OSD_ID=$(ceph "${C[@]}" osd new "$OSD_UUID")
ceph-osd "${C[@]}" -i "$OSD_ID" --mkfs --osd-uuid "$OSD_UUID" 2>"$D/log/osd-mkfs.err"
ceph-osd "${C[@]}" -i "$OSD_ID"

endpoints=()
i=0
for port in $RGW_PORTS; do
  mkdir -p "$D/rgw/g$i"
  radosgw "${C[@]}" -n "client.rgw.g$i"
  endpoints+=("http://127.0.0.1:$port")
  i=$((i + 1))
done
for url in "${endpoints[@]}"; do
  for n in $(seq 1 180); do
    if curl -fsS -o /dev/null "$url/" 2>/dev/null; then break; fi
    if [ "$n" = 180 ]; then echo "ceph-up: the gateway at $url did not come up; see $D/log" >&2; exit 1; fi
    sleep 1
  done
done
radosgw-admin "${C[@]}" user create --uid=dds --display-name=dds --access-key="$ACCESS" --secret="$SECRET" >/dev/null

joined=$(IFS=,; echo "${endpoints[*]}")
cat > "$D/env" <<EOF2
export DDS_TEST_S3_ENDPOINTS=$joined
export AWS_ACCESS_KEY_ID=$ACCESS
export AWS_SECRET_ACCESS_KEY=$SECRET
export AWS_REGION=us-east-1
EOF2
echo "ceph-up: cluster in $D, gateways $joined (access $ACCESS)" >&2
echo "$joined"
