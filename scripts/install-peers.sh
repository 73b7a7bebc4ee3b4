#!/usr/bin/env bash
# Makes sure the real peers the interop tests and benchmarks drive are installed:
# Debian's uWSGI (core + python3 plugin; the fastrouter/http/rawrouter/sslrouter plugins
# ship in uwsgi-core), nginx, openssl, wrk, haproxy, curl, python3, and for the TLS tests
# testssl.sh, gnutls-cli (gnutls-bin) and redis-server.
# Idempotent and quiet when everything is present; installs what is missing with apt-get
# (never starting the distro's nginx/haproxy services); exits non-zero if anything is still
# missing afterwards.
set -euo pipefail

# UWSGI_PLUGIN_DIR exists only to test this script's failure path.
PLUGIN_DIR="${UWSGI_PLUGIN_DIR:-/usr/lib/uwsgi/plugins}"

# check NAME -> prints the Debian package providing NAME when it is missing
missing_package_for() {
  case "$1" in
    uwsgi) command -v uwsgi >/dev/null 2>&1 || echo uwsgi-core ;;
    python3_plugin) [[ -e "$PLUGIN_DIR/python3_plugin.so" ]] || echo uwsgi-plugin-python3 ;;
    fastrouter_plugin) [[ -e "$PLUGIN_DIR/fastrouter_plugin.so" ]] || echo uwsgi-core ;;
    http_plugin) [[ -e "$PLUGIN_DIR/http_plugin.so" ]] || echo uwsgi-core ;;
    rawrouter_plugin) [[ -e "$PLUGIN_DIR/rawrouter_plugin.so" ]] || echo uwsgi-core ;;
    sslrouter_plugin) [[ -e "$PLUGIN_DIR/sslrouter_plugin.so" ]] || echo uwsgi-core ;;
    nginx) command -v nginx >/dev/null 2>&1 || [[ -x /usr/sbin/nginx ]] || echo nginx-light ;;
    openssl) command -v openssl >/dev/null 2>&1 || echo openssl ;;
    wrk) command -v wrk >/dev/null 2>&1 || echo wrk ;;
    haproxy) command -v haproxy >/dev/null 2>&1 || [[ -x /usr/sbin/haproxy ]] || echo haproxy ;;
    curl) command -v curl >/dev/null 2>&1 || echo curl ;;
    python3) command -v python3 >/dev/null 2>&1 || echo python3 ;;
    # Debian installs testssl.sh as /usr/bin/testssl
    testssl) command -v testssl >/dev/null 2>&1 || command -v testssl.sh >/dev/null 2>&1 || echo testssl.sh ;;
    gnutls-cli) command -v gnutls-cli >/dev/null 2>&1 || echo gnutls-bin ;;
    redis-server) command -v redis-server >/dev/null 2>&1 || [[ -x /usr/bin/redis-server ]] || echo redis-server ;;
  esac
}

PEERS=(uwsgi python3_plugin fastrouter_plugin http_plugin rawrouter_plugin sslrouter_plugin
  nginx openssl wrk haproxy curl python3 testssl gnutls-cli redis-server)

missing_peers() {
  local peer pkg
  for peer in "${PEERS[@]}"; do
    pkg="$(missing_package_for "$peer")"
    [[ -n "$pkg" ]] && echo "$peer:$pkg"
  done
  return 0
}

MISSING="$(missing_peers)"
if [[ -z "$MISSING" ]]; then
  exit 0
fi

echo "install-peers: missing: $(echo "$MISSING" | cut -d: -f1 | tr '\n' ' ')"

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-peers: ERROR: apt-get not found; install these by hand: $(echo "$MISSING" | cut -d: -f2 | sort -u | tr '\n' ' ')" >&2
  exit 1
fi

SUDO=()
if [[ "$(id -u)" -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
  else
    echo "install-peers: ERROR: not root and no sudo; cannot install the missing peers" >&2
    exit 1
  fi
fi

# Keep dpkg from starting services (nginx would take port 80, haproxy its default config,
# redis-server port 6379).
POLICY=/usr/sbin/policy-rc.d
POLICY_ADDED=0
if [[ ! -e "$POLICY" ]]; then
  printf '#!/bin/sh\n# added by uwrouter scripts/install-peers.sh while installing\nexit 101\n' |
    "${SUDO[@]}" tee "$POLICY" >/dev/null
  "${SUDO[@]}" chmod +x "$POLICY"
  POLICY_ADDED=1
fi
remove_policy() {
  if [[ "$POLICY_ADDED" -eq 1 ]]; then "${SUDO[@]}" rm -f "$POLICY"; fi
}
trap remove_policy EXIT

export DEBIAN_FRONTEND=noninteractive
echo "install-peers: apt-get update"
"${SUDO[@]}" apt-get update -qq
# Install the whole set (apt skips what is present) so versions stay consistent.
PACKAGES=(uwsgi-core uwsgi-plugin-python3 nginx-light openssl wrk haproxy curl python3
  testssl.sh gnutls-bin redis-server)
echo "install-peers: apt-get install ${PACKAGES[*]}"
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >/dev/null

# Should a service have started anyway (no policy-rc.d honoured), stop and disable it.
for svc in nginx haproxy uwsgi redis-server; do
  if command -v service >/dev/null 2>&1; then
    "${SUDO[@]}" service "$svc" stop >/dev/null 2>&1 || true
  fi
  if command -v systemctl >/dev/null 2>&1; then
    "${SUDO[@]}" systemctl disable --now "$svc" >/dev/null 2>&1 || true
  fi
done

STILL="$(missing_peers)"
if [[ -n "$STILL" ]]; then
  echo "install-peers: ERROR: still missing after apt-get install: $(echo "$STILL" | tr '\n' ' ')" >&2
  exit 1
fi
echo "install-peers: installed; all peers present ($(uwsgi --version), $(nginx -v 2>&1 | sed 's/.*: //'))"
