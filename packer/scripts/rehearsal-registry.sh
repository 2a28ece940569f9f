#!/usr/bin/env bash
# Rehearsal only (offline bakes): make `ghcr.io` reach the build host's
# loopback registry, which qemu forwards to REHEARSAL_REGISTRY_ADDR:443, and
# trust the rehearsal's throw-away CA for that one name (Docker's certs.d),
# so the image is pulled by the same reference production uses. In a
# production bake both variables are empty and this does nothing. scrub.sh
# removes both; the captured-disk check proves they are gone.
set -euo pipefail

ca_b64=${REHEARSAL_REGISTRY_CA_B64:-}
addr=${REHEARSAL_REGISTRY_ADDR:-}
if [ -z "$ca_b64" ] && [ -z "$addr" ]; then
  echo "clawbake: production bake: images come from the real ghcr.io"
  exit 0
fi
[[ $addr =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "clawbake: REHEARSAL_REGISTRY_ADDR must be an IPv4 address, got '$addr'" >&2; exit 1; }
install -d -m 0755 /etc/docker/certs.d/ghcr.io
base64 -d <<<"$ca_b64" >/etc/docker/certs.d/ghcr.io/ca.crt
chmod 0644 /etc/docker/certs.d/ghcr.io/ca.crt
grep -q 'BEGIN CERTIFICATE' /etc/docker/certs.d/ghcr.io/ca.crt || { echo "clawbake: REHEARSAL_REGISTRY_CA_B64 is not a PEM certificate" >&2; exit 1; }
sed -i '/# clawbake-rehearsal$/d' /etc/hosts
echo "$addr ghcr.io # clawbake-rehearsal" >>/etc/hosts
echo "clawbake: rehearsal: ghcr.io -> $addr (forwarded to the build host's registry), throw-away CA trusted for ghcr.io only"
