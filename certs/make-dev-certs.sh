#!/bin/sh
# Make a development CA and an ECDSA P-256 server certificate for
# localhost, 127.0.0.1 and ::1, with the openssl command.
#
#   certs/make-dev-certs.sh DIR
#
# Writes DIR/ca.pem, DIR/ca.key, DIR/server.pem, DIR/server.key (keys mode
# 0600). Existing files are left alone, so running it twice is harmless.
# These are for development and tests only: a deployment brings its own.
#
# RENKEI_CERT_NAMES adds names to the server certificate, for a phone on
# the same network (README, "Use it from a phone or a browser"), e.g.
#   RENKEI_CERT_NAMES=IP:192.168.1.20,DNS:mybox.local
# Remove DIR/server.pem to make it again with them; the CA is kept (a
# phone that trusts it goes on trusting the new certificate).
set -eu

dir=${1:?usage: make-dev-certs.sh DIR}
mkdir -p "$dir"
cd "$dir"
umask 077

if [ -f ca.pem ] && [ -f server.pem ] && [ -f server.key ]; then
	exit 0
fi

if [ ! -f ca.pem ] || [ ! -f ca.key ]; then
	openssl ecparam -name prime256v1 -genkey -noout -out ca.key
	openssl req -x509 -new -key ca.key -sha256 -days 825 \
		-subj "/O=renkei development/CN=renkei development CA" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" \
		-out ca.pem
fi

openssl ecparam -name prime256v1 -genkey -noout -out server.key
openssl req -new -key server.key -sha256 \
	-subj "/O=renkei development/CN=localhost" -out server.csr
cat > server.ext <<EXT
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1${RENKEI_CERT_NAMES:+,$RENKEI_CERT_NAMES}
EXT
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
	-days 397 -sha256 -extfile server.ext -out server.pem
rm -f server.csr server.ext ca.srl
chmod 600 ca.key server.key
chmod 644 ca.pem server.pem
echo "development certificates in $dir (CA: $dir/ca.pem)"
