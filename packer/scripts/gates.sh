#!/usr/bin/env bash
# Run the gate suite inside the build VM: the suite is bundled into one file
# (gates.mjs, esbuild) and run by the node of the pinned OpenClaw image itself,
# so the VM needs no other runtime. Host network (loopback-only checks), the
# laid-down files as the project tree, the host filesystem read-only at /host
# (no-secret-left). Always leaves report.json and a one-line status file, so
# the report can be fetched before the verdict fails the build.
set -uo pipefail

state=/var/lib/clawbake/gates
report=$state/report.json
status=$state/status
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
docker run --rm --network host --user 0:0 \
  --volume "${CLAWBAKE_STAGE:?}/gates.mjs:/clawbake/gates.mjs:ro" \
  --volume /opt/openclaw:/clawbake/tree/packer/files:ro \
  --volume "$state:/clawbake/out" \
  --volume /:/host:ro \
  --env AVOTS_API_KEY --env AVOTS_BASE_URL --env OPENCLAW_GATEWAY_TOKEN --env GATE_IDS \
  --env CLAWBAKE_ROOT=/clawbake/tree --env CLAWBAKE_HOST_ROOT=/host \
  --entrypoint node \
  "${OPENCLAW_IMAGE:?}" /clawbake/gates.mjs --out /clawbake/out/report.json --status /clawbake/out/status \
  || rc=$?
finish
echo "clawbake: gate suite exited $rc: $(cat "$status" 2>/dev/null || echo 'no status')"
exit 0
