#!/usr/bin/env bash
# Leave nothing of the build behind: test secrets and gate state, containers
# and volumes the gates made, logs, shell history, SSH host keys, cloud-init
# state and the machine id (a clone must not share them). The pinned image and
# the laid-down files stay.
set -euo pipefail

# gate state and test secrets
rm -rf /var/lib/clawbake /tmp/clawbake /var/tmp/clawbake-* /run/clawbake-gates-* /opt/openclaw/.env
# all of state/ but V8's compile cache of the pinned image's code (no data:
# bytecode of OpenClaw's own modules), so a client's first gateway start is a
# warm one; first boot writes the rest for its client
find /opt/openclaw/state -mindepth 1 -maxdepth 1 ! -name .compile-cache -exec rm -rf {} +

# what the gate run's first boot made (the gate suite takes it back itself;
# this is for a suite that crashed): the sandbox account, its sshd and units
systemctl disable --now openclaw-sandbox.socket openclaw-forget-user-data.service >/dev/null 2>&1 || true
rm -f /etc/systemd/system/openclaw-sandbox.socket /etc/systemd/system/openclaw-sandbox@.service /etc/systemd/system/openclaw-forget-user-data.service
if id sandbox >/dev/null 2>&1; then
  pkill -KILL -u sandbox || true
  userdel --force --remove sandbox
fi
rm -rf /srv/openclaw-sandbox /etc/openclaw-sandbox /run/openclaw-provision
# ...and its egress allowlist: the drop-ins that make Docker require it first,
# then its units, its rules and its rendered files (first boot renders them
# for each client)
rm -f /etc/systemd/system/docker.service.d/clawbake-egress.conf /etc/systemd/system/openclaw.service.d/clawbake-egress.conf /etc/systemd/system/openclaw-sandbox.socket.d/clawbake-egress.conf
rmdir /etc/systemd/system/docker.service.d /etc/systemd/system/openclaw.service.d /etc/systemd/system/openclaw-sandbox.socket.d 2>/dev/null || true
systemctl daemon-reload
systemctl disable --now clawbake-egress-dns.service clawbake-egress.service >/dev/null 2>&1 || true
rm -f /etc/systemd/system/clawbake-egress.service /etc/systemd/system/clawbake-egress-dns.service
nft delete table inet clawbake_egress 2>/dev/null || true
rm -rf /etc/clawbake/egress
rmdir /etc/clawbake 2>/dev/null || true
systemctl daemon-reload

# rehearsal only: the ghcr.io name mapping and the throw-away CA
sed -i '/# clawbake-rehearsal$/d' /etc/hosts
rm -rf /etc/docker/certs.d/ghcr.io
if command -v docker >/dev/null 2>&1; then
  docker ps --all --quiet | xargs --no-run-if-empty docker rm --force >/dev/null
  docker volume ls --quiet | xargs --no-run-if-empty docker volume rm >/dev/null
  docker network prune --force >/dev/null
fi

# package caches
apt-get clean
rm -rf /var/lib/apt/lists/*

# logs
journalctl --rotate >/dev/null 2>&1 || true
journalctl --vacuum-time=1s >/dev/null 2>&1 || true
find /var/log -type f \( -name '*.gz' -o -name '*.[0-9]' -o -name '*.old' \) -delete
find /var/log -type f -exec truncate --size 0 {} +

# shell history
rm -f /root/.bash_history /home/*/.bash_history /root/.lesshst /home/*/.lesshst /root/.wget-hsts /root/.docker/config.json

# build-time SSH access (the open session keeps working; no new login is possible)
rm -f /root/.ssh/authorized_keys /home/*/.ssh/authorized_keys

# per-instance identity: host keys and machine id are made again at first boot
rm -f /etc/ssh/ssh_host_*
cloud-init clean --logs --machine-id
rm -f /var/lib/dbus/machine-id
sync
echo "clawbake: scrubbed"
