#!/bin/sh
# The gate verdict, on the machine running Packer: fail the build (so no
# manifest is written and nothing is published) unless the gate run said
# exactly "passed".
set -eu

status_file=${GATE_STATUS_FILE:?GATE_STATUS_FILE is not set}
status=$(head -n 1 "$status_file" 2>/dev/null || echo "failed: no gate status (the gate run did not finish)")
if [ "$status" = passed ]; then
  echo "clawbake: gate verdict: passed (${GATE_IDS:-})"
  exit 0
fi
echo "clawbake: gate verdict: $status" >&2
exit 1
