#!/usr/bin/env bash
# Render a modbot HTML report to a PNG with headless Chromium (Debian's `chromium`), to
# check by eye that it reads well and loads nothing from the network.
# Usage: scripts/render-report.sh REPORT.html [OUT.png] [WIDTH,HEIGHT]
set -euo pipefail
report=${1:?usage: $0 REPORT.html [OUT.png] [WIDTH,HEIGHT]}
out=${2:-${report%.*}.png}
size=${3:-1280,2000}
if [ ! -f "$report" ]; then
    echo "no such report: $report" >&2
    exit 2
fi
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$browser" ]; then
    echo "no chromium found: apt-get install -y chromium" >&2
    exit 2
fi
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
out_abs=$(realpath -m "$out")
# a file:// URL percent-encoded: a `#`, `?`, `%` or space in the name is the file's
url=$(python3 -c 'import pathlib, sys; print(pathlib.Path(sys.argv[1]).resolve().as_uri())' "$report")
# an earlier render is not taken for this one when Chromium writes none
rm -f "$out_abs"
"$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile" --screenshot="$out_abs" --window-size="$size" \
    "$url" >/dev/null 2>&1
if [ ! -s "$out_abs" ]; then
    echo "chromium wrote no screenshot of $report" >&2
    exit 1
fi
echo "$out_abs"
