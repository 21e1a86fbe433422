#!/bin/sh
# Refreshes the dashboard's vendored front-end library (make vendor).
# uPlot (MIT, ~50 KB minified) draws the learning curves: fast on thousands of
# points, no dependencies. It is fetched from npm with `npm pack` into a temp
# dir and its minified files are copied into lualib/moonlab/board/static/vendor/,
# which is committed: the board works offline and the build needs no network.
# UPLOT_VERSION picks the version (default: the one pinned below).
set -eu
VERSION="${UPLOT_VERSION:-1.6.32}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEST="$ROOT/lualib/moonlab/board/static/vendor"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
command -v npm >/dev/null || { echo "vendor_frontend.sh: npm is not installed (apt-get install npm)" >&2; exit 1; }
(cd "$TMP" && npm pack --silent "uplot@$VERSION" >/dev/null)
tar -xzf "$TMP"/uplot-*.tgz -C "$TMP"
mkdir -p "$DEST"
cp "$TMP/package/dist/uPlot.iife.min.js" "$DEST/uPlot.iife.min.js"
cp "$TMP/package/dist/uPlot.min.css" "$DEST/uPlot.min.css"
cp "$TMP/package/LICENSE" "$DEST/uPlot.LICENSE"
echo "uplot $VERSION" > "$DEST/VERSIONS"
echo "vendored uPlot $VERSION into $DEST"
