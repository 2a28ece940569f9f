#!/usr/bin/env bash
# Docker Engine and the Compose v2 plugin FROM THE DISTRIBUTION (no curl|sh, no
# third-party apt repository): Ubuntu ships docker.io and docker-compose-v2,
# Debian 13 ships docker.io, docker-cli and the v2 plugin as docker-compose.
# A base that already has them (clawbake's own Debian 13 base) installs
# nothing. The Compose version is checked against what the image relies on.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
# `docker compose create --pull never` (the gate run) and `up --pull never` (openclaw.service)
min_compose=2.20.0

have() { command -v docker >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; }

# cloud-init or unattended-upgrades may still hold the dpkg lock on a fresh boot
wait_apt() {
  local i
  command -v fuser >/dev/null 2>&1 || return 0
  for i in $(seq 1 120); do
    if ! fuser /var/lib/dpkg/lock-frontend /var/lib/dpkg/lock /var/lib/apt/lists/lock >/dev/null 2>&1; then return 0; fi
    [ "$i" -eq 1 ] && echo "clawbake: waiting for the apt lock"
    sleep 5
  done
  echo "clawbake: the apt lock is still held after 10 minutes" >&2
  exit 1
}

if have; then
  echo "clawbake: docker and compose already in the base image: nothing installed"
else
  wait_apt
  apt-get update -qq
  pkgs=(docker.io ca-certificates)
  if apt-cache show docker-compose-v2 >/dev/null 2>&1; then
    pkgs+=(docker-compose-v2)
  else
    pkgs+=(docker-compose)
    # Debian 13 splits the CLI out and only recommends it
    if apt-cache show docker-cli >/dev/null 2>&1; then pkgs+=(docker-cli); fi
  fi
  wait_apt
  apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
fi
systemctl enable --now docker.service

compose=$(docker compose version --short | sed 's/^v//')
if [ "$(printf '%s\n%s\n' "$min_compose" "$compose" | sort -V | head -n 1)" != "$min_compose" ]; then
  echo "clawbake: docker compose $compose is older than $min_compose, which the image's units and gates use" >&2
  exit 1
fi
echo "clawbake: docker engine $(docker version --format '{{.Server.Version}}'), compose $compose"
