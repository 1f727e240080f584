#!/usr/bin/env bash
# Accuracy of the deterministic scorers on labeled data (a measurement, not a
# test): precision, recall and F1 per scorer and data set, printed by
# tests/bench/accuracy.c. The public data sets are read in place from
# shared/datasets beside the repository, never copied into it.
#
#   tests/bench/accuracy.sh [BUILD_DIR [DATASETS_DIR]] [-- ACCURACY_OPTIONS]
#   tests/bench/accuracy.sh build                      defaults: build, $EG_SRC/../shared/datasets
#   tests/bench/accuracy.sh build /data -- -v held-out list the refusal cases missed in a half
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=build
datasets=""
if [ $# -gt 0 ] && [ "$1" != "--" ]; then build=$1; shift; fi
if [ $# -gt 0 ] && [ "$1" != "--" ]; then datasets=$1; shift; fi
if [ $# -gt 0 ] && [ "$1" = "--" ]; then shift; fi
build=$(cd "$build" && pwd)
export EG_SRC=${EG_SRC:-$src}
datasets=${datasets:-$EG_SRC/../shared/datasets}
if [ ! -x "$build/tests/accuracy" ]; then
	cmake --build "$build" --target accuracy >/dev/null
fi
exec "$build/tests/accuracy" -s "$EG_SRC" -d "$datasets" "$@"
