#!/bin/sh
# Makes a throw-away CA, a broker certificate and a client certificate for trying TLS locally
# (examples/configs/tls.toml). For anything real, use certificates from your own CA.
#
#   examples/certs/make-certs.sh            # writes into examples/certs/
#   examples/certs/make-certs.sh /some/dir  # or there
#
# ca.crt/ca.key          the CA (clients trust ca.crt: mosquitto_sub --cafile ca.crt)
# server.crt/server.key  the broker: CN=localhost, SAN DNS:localhost, IP:127.0.0.1, IP:::1
# client.crt/client.key  a device: CN=device-1 (for require_client_cert / mTLS)
set -eu
dir=${1:-$(dirname "$0")}
days=825
cd "$dir"

# EC P-256 keys: small and fast; every current MQTT client takes them.
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

key ca.key
openssl req -x509 -new -key ca.key -sha256 -days "$days" -subj "/CN=Roost example CA" -out ca.crt

key server.key
openssl req -new -key server.key -subj "/CN=localhost" -out server.csr
printf 'basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n' >server.ext
openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -sha256 -days "$days" \
    -extfile server.ext -out server.crt

key client.key
openssl req -new -key client.key -subj "/CN=device-1" -out client.csr
printf 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n' >client.ext
openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -sha256 -days "$days" \
    -extfile client.ext -out client.crt

rm -f server.csr server.ext client.csr client.ext ca.srl
chmod 600 ca.key server.key client.key
echo "make-certs: wrote ca.crt, server.crt/.key, client.crt/.key into $(pwd)"
