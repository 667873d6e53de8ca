#!/usr/bin/env bash
# Soak: the crash test with many kill points (default 220). Prints tap's output.
# Usage: test/soak/crash.sh [KILLS]
set -euo pipefail
cd "$(dirname "$0")/../.."
npm run build --silent
DDS_CRASH_KILLS="${1:-220}" npx tap --timeout 7200 --disable-coverage test/lib/crash.test.ts
