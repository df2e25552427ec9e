#!/bin/sh
# Configure and build into build/ (or $RENKEI_BUILD_DIR), quietly.
set -eu
cd "$(dirname "$0")/.."
dir=${RENKEI_BUILD_DIR:-build}
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=${RENKEI_BUILD_TYPE:-RelWithDebInfo} "$@" >/dev/null
cmake --build "$dir" -j"$(nproc)"
