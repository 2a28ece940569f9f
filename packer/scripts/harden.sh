#!/usr/bin/env bash
# Host hardening the gates check (admin-tunnel: nothing listens beyond
# loopback but the admin's sshd and the sandbox's socket on the compose
# network): systemd-resolved answers LLMNR (5355) and mDNS on every interface
# by default, which a single-purpose cloud VM has no use for.
set -euo pipefail

if systemctl list-unit-files systemd-resolved.service >/dev/null 2>&1; then
  install -d -m 0755 /etc/systemd/resolved.conf.d
  cat >/etc/systemd/resolved.conf.d/90-clawbake.conf <<'CONF'
# clawbake: no name service for the local network (LLMNR, mDNS)
[Resolve]
LLMNR=no
MulticastDNS=no
CONF
  chmod 0644 /etc/systemd/resolved.conf.d/90-clawbake.conf
  if systemctl is-active --quiet systemd-resolved.service; then systemctl restart systemd-resolved.service; fi
  echo "clawbake: systemd-resolved: LLMNR and mDNS off"
fi
