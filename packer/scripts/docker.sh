#!/usr/bin/env bash
# Docker Engine and the compose v2 plugin FROM THE DISTRIBUTION (no curl|sh, no
# third-party apt repository): Ubuntu ships docker.io and docker-compose-v2,
# Debian 13 ships the v2 plugin as docker-compose.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

apt-get update -qq
compose_pkg=docker-compose-v2
if ! apt-cache show "$compose_pkg" >/dev/null 2>&1; then
  compose_pkg=docker-compose
fi
apt-get install -y -qq --no-install-recommends docker.io "$compose_pkg" ca-certificates >/dev/null
systemctl enable --now docker.service

echo "clawbake: docker engine $(docker version --format '{{.Server.Version}}'), $(docker compose version --short 2>/dev/null || docker compose version)"
