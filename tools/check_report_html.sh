#!/bin/sh
# Manual check that the HTML report of `sgc report` renders in a browser: writes the report of a graph and a
# headless-Chromium screenshot of the whole page (table, then both graph pictures, fitted to the page width).
# Needs `chromium` (apt-get install chromium) and, for the pictures of the graph, Graphviz (apt-get install
# graphviz). Not part of the test suite (CI has no browser).
#
#   tools/check_report_html.sh [GRAPH] [OUT_DIR] [HEIGHT]   # default: the bundled example, ./report-check, 9000
#
# HEIGHT is the window height in pixels: the screenshot is one window, so make it taller than the page (the
# report of tests/fixtures/generator_full_32/graph.pb is about 8000 px tall at 1400 px wide).
set -eu
graph=${1:-examples/stylegan_generator_32.pb}
out=${2:-report-check}
height=${3:-9000}
mkdir -p "$out"
cargo run --release --quiet -- report "$graph" --format html -o "$out/report.html"
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$browser" ]; then
    echo "no Chromium found: open $out/report.html in a browser instead" >&2
    exit 1
fi
# A fresh profile, and nothing that talks to the network.
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
"$browser" --headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update \
    --disable-sync --no-first-run --user-data-dir="$profile" --hide-scrollbars --window-size="1400,$height" \
    --screenshot="$out/report.png" "file://$(realpath "$out/report.html")" 2>/dev/null
test -s "$out/report.png"
echo "wrote $out/report.html and $out/report.png"
