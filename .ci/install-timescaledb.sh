#!/usr/bin/env bash
# Installs the real TimescaleDB server the tests start (`startTestPostgres({ timescaledb: true })`): runs
# `timescaledb/install.sh` of the shared directory beside the checkout (TimescaleDB 2.28.3, PostgreSQL 15 pinned
# to 15.18; idempotent, needs root). Run it after any step that installs `postgresql` (apt would bring a newer 15.x
# back, on which TimescaleDB's background jobs fail).
#
# Where the shared directory is: $SHADOWFILL_SHARED if set; else `../shared` next to this checkout (the layout of
# /work/main and /work/wt/*); else /work/shared (a clean clone in a temporary directory has no `../shared`).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -n "${SHADOWFILL_SHARED:-}" ]; then
  shared=$SHADOWFILL_SHARED
elif [ -f ../shared/timescaledb/install.sh ]; then
  shared=../shared
else
  shared=/work/shared
fi
installer="$shared/timescaledb/install.sh"
if [ ! -f "$installer" ]; then
  echo "install-timescaledb: $installer not found — set SHADOWFILL_SHARED to the directory that holds timescaledb/install.sh" >&2
  exit 1
fi
bash "$installer"
