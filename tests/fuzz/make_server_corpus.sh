#!/bin/sh
# Remake the seeds that come from a real server rather than a generator:
# it starts build/renkei-server on a fresh demo data folder, then records
#  - corpus/cli_http/: the server's HTTPS answers (/healthz, /metrics, 401,
#    404, 405, HEAD) and its answer to a WebSocket upgrade (openssl s_client);
#  - corpus/ws_frame/: the frames it sends on a WebSocket session (a
#    login, whoami, the patient list, a pong, the close after a text
#    frame), raw, as they arrive after the upgrade (python3, ws_capture.py);
#  - corpus/audit_verify/: JSON Lines audit exports, and
#    tests/fuzz/audit_verify.pub, the key that verifies them (the CLI).
# Files named made-* or crash-* are not touched: made-* are written by
# hand (their names say what they are), crash-* are inputs a fuzzer found.
#
#   sh tests/fuzz/make_server_corpus.sh      (after scripts/build.sh)
set -eu
cd "$(dirname "$0")/../.."
top=$(pwd)
tmp=$(mktemp -d /tmp/renkei-corpus-XXXXXX)
port=${RENKEI_CORPUS_PORT:-9543}
data=$tmp/data
out=$top/tests/fuzz/corpus

sh certs/make-dev-certs.sh "$data/certs" >/dev/null 2>&1
build/renkei-server init --data "$data" >/dev/null 2>&1
build/renkei-server import --data "$data" data/demo-ward.json >/dev/null 2>&1
# Checkpoints often, so that short exports hold several.
build/renkei-server serve --data "$data" --port "$port" \
	--audit-checkpoint-records 10 >"$tmp/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$tmp"' EXIT
sleep 1

ca=$data/certs/ca.pem
get() { # FILE REQUEST: the raw answer to one request
	printf "$2" | timeout 5 openssl s_client -quiet -connect "127.0.0.1:$port" \
		-CAfile "$ca" 2>/dev/null >"$out/cli_http/$1" || true
}
h='Host: localhost\r\nConnection: close\r\n'
get healthz.http "GET /healthz HTTP/1.1\r\n${h}User-Agent: renkei-rkc/1\r\nAccept: */*\r\n\r\n"
get metrics.http "GET /metrics HTTP/1.1\r\n${h}User-Agent: renkei-rkc/1\r\nAccept: */*\r\n\r\n"
get attach-401.http "GET /attachments/1?thumb=1 HTTP/1.1\r\n${h}\r\n"
get notfound-404.http "GET /nothing HTTP/1.1\r\n${h}\r\n"
get post-405.http "POST /healthz HTTP/1.1\r\n${h}Content-Length: 0\r\n\r\n"
get head.http "HEAD /healthz HTTP/1.1\r\n${h}\r\n"
get upgrade-101.http "GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: renkei.v1\r\n\r\n"

python3 tests/fuzz/ws_capture.py "$ca" "$port" dr.tanaka "$out/ws_frame" \
	"$out/cli_http/upgrade-101-frames.http"

# Audit exports: some activity first, then an export from the first
# record, one anchored on a record before its range, and a short range.
export RENKEI_CONFIG_DIR=$tmp/cli
cli="build/renkei --server wss://localhost:$port --ca $ca"
echo renkei-demo-1 | $cli login --password-stdin ns.kobayashi >/dev/null
build/renkei patients >/dev/null
build/renkei post pt-sato --text "訪問しました。バイタル安定。" --vitals bt=36.8,bp=112/68,p=88 >/dev/null
echo wrong | $cli login --password-stdin dr.tanaka >/dev/null 2>&1 || true
echo renkei-demo-1 | $cli login --password-stdin audit.inoue >/dev/null
mid=$(date -u +%Y-%m-%dT%H:%M:%SZ)
sleep 1
build/renkei audit query >/dev/null
build/renkei audit export -o "$out/audit_verify/export-from-first.jsonl" >/dev/null
build/renkei audit export --since "$mid" -o "$out/audit_verify/export-anchored.jsonl" >/dev/null
sleep 1
end=$(date -u +%Y-%m-%dT%H:%M:%SZ)
build/renkei audit export --since "$mid" --until "$end" -o "$out/audit_verify/export-range.jsonl" >/dev/null
build/renkei audit pubkey -o "$top/tests/fuzz/audit_verify.pub" >/dev/null
for f in "$out"/audit_verify/export-*.jsonl; do
	build/renkei audit verify "$f" --pubkey tests/fuzz/audit_verify.pub
done
