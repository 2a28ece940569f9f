#!/usr/bin/env bash
# Run the gate suite inside the build VM. The suite is bundled into one file
# (gates/lib/gates.mjs beside gates/schemas/, esbuild) and run by the node binary OF THE PINNED OPENCLAW IMAGE
# (copied out of the image, `docker cp`), so the VM needs no other runtime.
# It runs on the VM host, not in a container: its vm mode drives the shipped
# compose project (`docker compose`, services openclaw-gateway/openclaw-cli),
# starts the loopback sshd sandbox and searches the disk that will be captured.
# Always leaves report.json and a one-line status file, so the report can be
# fetched before the verdict fails the build.
set -uo pipefail

stage=${CLAWBAKE_STAGE:?CLAWBAKE_STAGE is not set}
image=${OPENCLAW_IMAGE:?OPENCLAW_IMAGE is not set}
state=/var/lib/clawbake/gates
report=$state/report.json
status=$state/status
tree=$state/tree
install -d -m 0755 "$state"
rm -f "$report" "$status"

finish() {
  if [ ! -s "$status" ]; then
    echo "failed: gate-runner (the gate suite exited ${rc:-?} without a verdict)" >"$status"
  fi
  if [ ! -s "$report" ]; then
    printf '{"ok":false,"openclawVersion":"unknown","gates":[{"id":"gate-runner","ok":false,"detail":"the gate suite exited %s without a report","ms":0}]}\n' "${rc:-?}" >"$report"
  fi
  chmod 0644 "$report" "$status"
}

rc=0
# The build VM's identity, before the scrub takes the host keys and machine-id
# away: the boot test proves that a client's VM shares neither.
{
  printf '{"machineId":"%s","hostKeys":[' "$(cat /etc/machine-id)"
  sep=''
  for k in /etc/ssh/ssh_host_*_key.pub; do
    printf '%s"%s"' "$sep" "$(ssh-keygen -lf "$k" | awk '{print $2}')"
    sep=','
  done
  printf ']}\n'
} >"$state/identity.json"
chmod 0644 "$state/identity.json"

# the image's own node binary
node_bin=$state/node
node_path=$(docker run --rm --entrypoint sh "$image" -c 'command -v node') || rc=$?
if [ "$rc" -eq 0 ]; then
  cid=$(docker create "$image") &&
    docker cp --follow-link "$cid:$node_path" "$node_bin" &&
    docker rm "$cid" >/dev/null || rc=$?
fi

# the project tree the suite verifies: the laid-down files and the pin record
if [ "$rc" -eq 0 ]; then
  install -d -m 0755 "$tree/packer"
  ln -sfn /opt/openclaw "$tree/packer/files"
  install -m 0644 "$stage/pins.lock.json" "$tree/pins.lock.json"
  # the suite's progress goes to stdout: Packer shows stderr as errors
  echo "clawbake: gate suite on node $("$node_bin" --version) from $image"
  CLAWBAKE_ROOT=$tree CLAWBAKE_COMPOSE_FILE=/opt/openclaw/docker-compose.yml \
    "$node_bin" "$stage/gates/lib/gates.mjs" --out "$report" --status "$status" 2>&1 || rc=$?
fi
finish
echo "clawbake: gate suite exited $rc: $(cat "$status" 2>/dev/null || echo 'no status')"
exit 0
