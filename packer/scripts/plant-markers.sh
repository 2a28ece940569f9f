#!/usr/bin/env bash
# Rehearsal only: plant a secret-like marker ($CLAWBAKE_MARKER) in each place
# a deleted secret can survive on the captured disk, just before the scrub:
#   a file the scrub deletes (/var/tmp/clawbake-*), the systemd journal
#   (rotated and vacuumed by the scrub), a container's log and its writable
#   layer (the scrub removes every container).
# The bake searches the captured disk's raw bytes for the marker: it must be
# gone. The ext4 journal and swap need no marker: the free-space zeroing
# drops and remakes the journal, and the image has no swap. An empty marker
# (production) plants nothing.
set -euo pipefail
marker=${CLAWBAKE_MARKER:-}
if [ -z "$marker" ]; then
  echo "clawbake: no marker to plant (not a rehearsal)"
  exit 0
fi
image=${OPENCLAW_IMAGE:?OPENCLAW_IMAGE is not set}

# a deleted file's blocks
install -d -m 0700 /var/tmp/clawbake-planted
for _ in $(seq 64); do printf 'AVOTS_API_KEY=%s\n' "$marker"; done > /var/tmp/clawbake-planted/env
sync

# the journal, flushed to disk
echo "planted $marker" | systemd-cat -t clawbake-marker
journalctl --flush

# a container's log (json-file) and its writable layer, left for the scrub to remove; the marker goes
# in on stdin, as a secret would reach a container (never in its arguments or environment, which
# Docker's and containerd's metadata databases keep in pages a deletion does not clear)
printf '%s' "$marker" | docker run -i --name clawbake-planted --network none --entrypoint node "$image" \
  -e 'let m = ""; process.stdin.on("data", d => { m += d }).on("end", () => { require("fs").writeFileSync("/tmp/planted", m.repeat(64)); console.log("planted " + m) })' >/dev/null
sync
echo "clawbake: marker planted in a deleted file, the journal, a container's log and its writable layer"
