#!/usr/bin/env bash
# cloud-init keeps its own copies of the user-data a VM was launched with
# (user-data.txt, the processed and merged cloud-config, the pickled
# datasource), and `clawbake user-data` carries the client's secrets. Once
# first boot has put them into state/.env (0600, the container's uid), these
# copies go. cloud-init reads the seed again at a later boot (the NoCloud cd,
# a cloud's metadata service) and writes them anew, so
# openclaw-forget-user-data.service runs this after cloud-final at every boot.
set -euo pipefail
shopt -s nullglob
for dir in /var/lib/cloud/instances/*/; do
  rm -f "$dir/user-data.txt" "$dir/user-data.txt.i" "$dir/cloud-config.txt" "$dir/obj.pkl"
done
rm -f /run/cloud-init/instance-data-sensitive.json
