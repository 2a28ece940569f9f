#!/usr/bin/env bash
# Wait until cloud-init has finished applying the NoCloud seed of the build VM
# (users, SSH key, first-boot package state) before anything else runs.
set -euo pipefail

if command -v cloud-init >/dev/null 2>&1; then
  rc=0
  cloud-init status --wait >/dev/null || rc=$?
  # 0 done, 2 done with recoverable errors (deprecated keys): both are usable.
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 2 ]; then
    cloud-init status --long >&2 || true
    echo "clawbake: cloud-init failed in the build VM (exit $rc)" >&2
    exit 1
  fi
fi
# shellcheck source=/dev/null
pretty=$(. /etc/os-release && echo "$PRETTY_NAME")
echo "clawbake: build VM ready: $pretty, kernel $(uname -r)"
