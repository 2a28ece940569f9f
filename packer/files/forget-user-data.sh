#!/usr/bin/env bash
# cloud-init keeps its own copies of the user-data a VM was launched with
# (user-data.txt, the processed and merged cloud-config, the pickled
# datasource, and in /run the merged cloud-config and the sensitive
# instance data), and `clawbake user-data` carries the client's secrets. Once
# first boot has put them into state/.env (0600, the container's uid), these
# copies go. cloud-init reads the seed again at a later boot (the NoCloud cd,
# a cloud's metadata service) and writes them anew, so
# openclaw-forget-user-data.service runs this after cloud-final at every boot.
set -euo pipefail
shopt -s nullglob
removed=()
for f in /var/lib/cloud/instances/*/{user-data.txt,user-data.txt.i,cloud-config.txt,obj.pkl} \
  /run/cloud-init/instance-data-sensitive.json /run/cloud-init/combined-cloud-config.json; do
  [ -e "$f" ] || continue
  rm -f "$f"
  removed+=("$f")
done
# the journal says what went (the boot test reads it)
echo "forget-user-data: removed ${#removed[@]} file(s): ${removed[*]:-none}"
