#!/bin/sh
# Configure and build into build/ (or $RENKEI_BUILD_DIR), quietly.
set -eu
cd "$(dirname "$0")/.."
dir=${RENKEI_BUILD_DIR:-build}
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=${RENKEI_BUILD_TYPE:-RelWithDebInfo} "$@" >/dev/null
cmake --build "$dir" -j"$(nproc)"
# The web client's bundle into $dir/web, where the server looks by default
# (web_dir): npm ci (the versions of web/package-lock.json, from the
# registry) when node_modules is missing or older than the lockfile.
if [ -f web/package.json ]; then
	if [ ! -f web/node_modules/.package-lock.json ] ||
	   [ web/package-lock.json -nt web/node_modules/.package-lock.json ]; then
		(cd web && npm ci --no-audit --no-fund --loglevel=error)
	fi
	(cd web && node build.mjs "../$dir/web" >/dev/null)
fi
