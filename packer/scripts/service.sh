#!/usr/bin/env bash
# systemd unit that runs the compose project. It is enabled, not started: the
# per-client state/.env (bot token, owner id, avots key) is written by
# first-boot.sh (cloud-init) at the first boot of a client VM; the unit waits for it.
set -euo pipefail

unit=/etc/systemd/system/openclaw.service
cat >"$unit" <<'UNIT'
[Unit]
Description=OpenClaw agent (docker compose, image pinned by digest)
Documentation=file:///opt/openclaw/docker-compose.yml
Requires=docker.service
After=docker.service network-online.target
Wants=network-online.target
ConditionPathExists=/opt/openclaw/state/.env

[Service]
Type=oneshot
RemainAfterExit=yes
WorkingDirectory=/opt/openclaw
ExecStart=/usr/bin/docker compose --file /opt/openclaw/docker-compose.yml up --detach --pull never --remove-orphans
ExecStop=/usr/bin/docker compose --file /opt/openclaw/docker-compose.yml down
TimeoutStartSec=300

[Install]
WantedBy=multi-user.target
UNIT
chmod 0644 "$unit"
systemd-analyze verify "$unit"
systemctl daemon-reload
systemctl enable openclaw.service 2>&1
echo "clawbake: openclaw.service installed and enabled"
