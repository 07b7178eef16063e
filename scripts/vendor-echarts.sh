#!/bin/sh
# Vendor ECharts 5 into the package at install time (never fetched at run time, never from a CDN).
# Usage: scripts/vendor-echarts.sh   — needs npm; writes mianshen/web/static/vendor/echarts.min.js.
# Without the file the dashboard still works: tables and export, with a note instead of charts.
set -eu
ROOT=$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)
WORK="$ROOT/var/npm"
TARGET="$ROOT/mianshen/web/static/vendor/echarts.min.js"
mkdir -p "$WORK" "$(dirname "$TARGET")"
cd "$WORK"
TARBALL=$(npm pack --silent "echarts@5" | tail -n 1)
rm -rf package
tar -xzf "$TARBALL" package/dist/echarts.min.js package/LICENSE
cp package/dist/echarts.min.js "$TARGET"
cp package/LICENSE "$(dirname "$TARGET")/echarts.LICENSE"
echo "ECharts $(basename "$TARBALL" .tgz) → $TARGET"
