#!/usr/bin/env bash
# Makes development certificates: a local CA and `localhost` leaves signed by it, one
# RSA-2048 and one ECDSA P-256 (SAN: localhost, 127.0.0.1, ::1), for `npm start` and hand
# testing. Never for real hosts.
#
#   bash certs/make-dev-certs.sh [DIR]        (default DIR: certs/dev, git-ignored)
#
# Writes DIR/ca.crt, DIR/ca.key, DIR/localhost.crt + .key (RSA) and DIR/localhost.ecdsa.crt
# + .key (ECDSA): the names --sni-dir understands, so DIR can be an --sni-dir as it is.
# Keys are 0600. Idempotent: what exists and is valid for 30 more days is kept; a leaf is
# remade when missing, expiring, or not signed by the current CA; a new CA remakes both.
# Clients trust the CA with: curl --cacert DIR/ca.crt, NODE_EXTRA_CA_CERTS=DIR/ca.crt.
set -euo pipefail

DIR="${1:-$(cd "$(dirname "$0")" && pwd)/dev}"
DAYS_CA=3650
DAYS_LEAF=397 # the longest validity browsers accept for a TLS server certificate
KEEP_SECONDS=$((30 * 86400))

command -v openssl >/dev/null 2>&1 || { echo "make-dev-certs: openssl not found" >&2; exit 1; }
umask 077
mkdir -p "$DIR"

valid_for_a_while() { # FILE
  [[ -f "$1" ]] && openssl x509 -in "$1" -noout -checkend "$KEEP_SECONDS" >/dev/null 2>&1
}

make_ca() {
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$DIR/ca.key" 2>/dev/null
  openssl req -x509 -new -key "$DIR/ca.key" -days "$DAYS_CA" -out "$DIR/ca.crt" \
    -subj "/O=uwrouter development/CN=uwrouter development CA $(hostname 2>/dev/null || echo local)" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  chmod 0644 "$DIR/ca.crt"
  echo "make-dev-certs: made $DIR/ca.crt"
}

make_leaf() { # STEM rsa|ec
  local stem="$1" kind="$2" ext
  if [[ "$kind" == rsa ]]; then
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$DIR/$stem.key" 2>/dev/null
  else
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$DIR/$stem.key" 2>/dev/null
  fi
  ext="$(mktemp)"
  printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
    "extendedKeyUsage=serverAuth" "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" >"$ext"
  openssl req -new -key "$DIR/$stem.key" -subj "/O=uwrouter development/CN=localhost" 2>/dev/null |
    openssl x509 -req -CA "$DIR/ca.crt" -CAkey "$DIR/ca.key" -set_serial "0x$(openssl rand -hex 16)" \
      -days "$DAYS_LEAF" -sha256 -extfile "$ext" -out "$DIR/$stem.crt" 2>/dev/null
  rm -f "$ext"
  chmod 0644 "$DIR/$stem.crt"
  echo "make-dev-certs: made $DIR/$stem.crt ($kind)"
}

NEW_CA=0
if ! valid_for_a_while "$DIR/ca.crt" || [[ ! -f "$DIR/ca.key" ]]; then
  make_ca
  NEW_CA=1
fi
for pair in "localhost rsa" "localhost.ecdsa ec"; do
  read -r stem kind <<<"$pair"
  if [[ "$NEW_CA" -eq 1 || ! -f "$DIR/$stem.key" ]] || ! valid_for_a_while "$DIR/$stem.crt" ||
    ! openssl verify -CAfile "$DIR/ca.crt" "$DIR/$stem.crt" >/dev/null 2>&1; then
    make_leaf "$stem" "$kind"
  fi
done
