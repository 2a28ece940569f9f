#!/bin/sh
# Rehearsal (null source): the gate suite on this machine, `clawbake verify
# --local`, against the same project tree the bake works on. Writes the report
# and a one-line status file into the run directory, like gates.sh in the VM;
# verdict.sh then decides. Secrets come from Packer's inherited environment.
set -u

run_dir=${CLAWBAKE_RUN_DIR:?CLAWBAKE_RUN_DIR is not set}
report=$run_dir/gate-report.json
status=$run_dir/gate-status
rm -f "$report" "$status"

rc=0
# CLAWBAKE_COMMAND is a command line (node + bin/clawbake.js): split on purpose.
# The report goes to the file; the suite's progress (stderr) to Packer's stdout,
# so Packer shows it as progress, not as errors.
# shellcheck disable=SC2086
{ CLAWBAKE_ROOT=${CLAWBAKE_ROOT:?} $CLAWBAKE_COMMAND verify --local --json >"$report"; } 2>&1 || rc=$?
case "$rc" in
  0) echo passed >"$status" ;;
  1) echo "failed: a gate failed (clawbake verify --local exited 1)" >"$status" ;;
  *) echo "failed: gate-runner (clawbake verify --local exited $rc)" >"$status" ;;
esac
echo "clawbake: gate suite exited $rc"
exit 0
