#!/usr/bin/env bash
# Benchmark of the pickle route on a full-size pickle: wall time and peak RSS of `sgc inspect` and
# `sgc lower` (whole Gs, and the 256 px full generator), next to the bytes of Gs's weights.
#
#     bash tools/bench_pkl.sh [PICKLE]      # default: writes a 1024 px random (G, D, Gs) pickle to a temp dir
#
# Needs GNU time (/usr/bin/time) and, to write the pickle, numpy ($SGC_PYTHON or ./.venv/bin/python).
# The sgc binary is $SGC_BIN, else target/release/sgc.
set -euo pipefail
cd "$(dirname "$0")/.."
sgc=${SGC_BIN:-target/release/sgc}
py=${SGC_PYTHON:-.venv/bin/python}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pkl=${1:-}
if [[ -z "$pkl" ]]; then
    pkl="$tmp/stylegan-1024-random.pkl"
    "$py" tools/make_pkl_fixtures.py --full "$pkl"
fi
gs_bytes=$("$sgc" inspect "$pkl" --format json | "$py" -c '
import json, sys
nets = json.load(sys.stdin)
def total(n):
    return n["variable_bytes"] + sum(total(c) for c in n["components"])
print(next(total(n) for n in nets if n["path"] == "Gs"))')
echo "pickle: $(( $(stat -c %s "$pkl") / 1000000 )) MB; Gs weights: $((gs_bytes / 1000000)) MB"
run() {
    local what=$1; shift
    /usr/bin/time -f "%e %M" -o "$tmp/t" "$@" > /dev/null 2> "$tmp/err" || { cat "$tmp/err"; exit 1; }
    read -r secs kb < "$tmp/t"
    printf '%-28s %6.2f s  %5d MB peak RSS  (%.1fx the weights of Gs)\n' "$what" "$secs" $((kb / 1024)) \
        "$(echo "$kb * 1024 / $gs_bytes" | bc -l)"
}
run "sgc inspect" "$sgc" inspect "$pkl"
run "sgc lower (Gs)" "$sgc" lower "$pkl" -o "$tmp/g.tflite"
run "sgc lower --resolution 256" "$sgc" lower "$pkl" -o "$tmp/g256.tflite" --resolution 256 --part full
