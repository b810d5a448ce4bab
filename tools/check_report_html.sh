#!/bin/sh
# Manual check that the HTML report of `sgc report` renders in a browser: writes the report of a graph and a
# headless-Chromium screenshot of it. Needs `chromium` (apt-get install chromium) and, for the pictures of
# the graph, Graphviz (apt-get install graphviz). Not part of the test suite (CI has no browser).
#
#   tools/check_report_html.sh [GRAPH] [OUT_DIR]      # default: the bundled example, ./report-check
set -eu
graph=${1:-examples/stylegan_generator_32.pb}
out=${2:-report-check}
mkdir -p "$out"
cargo run --release --quiet -- report "$graph" --format html -o "$out/report.html"
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$browser" ]; then
    echo "no Chromium found: open $out/report.html in a browser instead" >&2
    exit 1
fi
"$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1400,4000 \
    --screenshot="$out/report.png" "file://$(realpath "$out/report.html")" 2>/dev/null
echo "wrote $out/report.html and $out/report.png"
