#!/bin/sh
# Install what renkei needs to build, run and test, from Debian 12's
# packages, if it is missing. Needs root (or sudo) only when something is
# missing.
#
#   scripts/install-deps.sh          build, run, test
#   scripts/install-deps.sh fuzz     ... and the fuzz targets (scripts/fuzz):
#                                    clang 14 and its libFuzzer runtime
set -eu

pkgs="build-essential cmake pkg-config openssl libssl-dev
      libwebsockets-dev libsqlcipher-dev protobuf-c-compiler libprotobuf-c-dev
      libargon2-dev libjansson-dev libinih-dev libcmocka-dev sqlite3
      libjpeg62-turbo-dev libpng-dev sqlcipher
      liboath-dev libqrencode-dev libpwquality-dev cracklib-runtime
      libcurl4-openssl-dev python3 python3-aiosmtpd
      chromium fonts-ipafont-gothic"
# The web client (web/): Node.js and npm build its bundle (scripts/build.sh)
# and drive the browser tests; chromium is the browser they drive
# (web/test/e2e.mjs, through ctest), with a Japanese font for its
# screenshots (fonts-ipafont-gothic). A Node.js that already brings its own
# npm (e.g. a nodesource package) is kept: Debian's npm would conflict.
if ! command -v node >/dev/null 2>&1; then
	pkgs="$pkgs nodejs"
fi
if ! command -v npm >/dev/null 2>&1; then
	pkgs="$pkgs npm"
fi
if [ "${1:-}" = fuzz ]; then
	pkgs="$pkgs clang-14 clang libclang-rt-14-dev"
fi

missing=""
for p in $pkgs; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

echo "renkei: installing:$missing"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
	sudo="sudo"
fi
$sudo apt-get update -qq
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
