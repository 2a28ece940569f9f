#!/usr/bin/env bash
# The whole test suite from a fresh clone: installs what it needs
# (scripts/setup.sh test), then typecheck, lint, and every tap test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test

export PATH="$PWD/node_modules/.bin:$PATH"   # Node 24 first
echo "test: node $(node --version), $(tsc --version)" >&2

tsc -p tsconfig.json
node scripts/lint.ts

# Build tap's plugin set from .taprc now: a fresh `npm ci` ships tap's default
# set (with its ts-node plugin), which the first run would otherwise still use.
tap build >/dev/null

log=$(mktemp)
failures=$(mktemp)
trap 'rm -f "$log" "$failures"' EXIT
set +e
# tap expands a directory argument only to extensions it knows without its TS
# plugin (js/cjs/mjs); expand `npm test -- test/pins` to its *.test.ts here.
args=()
for a in "$@"; do
  if [ -d "$a" ]; then
    while IFS= read -r f; do args+=("$f"); done < <(find "$a" -name '*.test.ts' | sort)
  else
    args+=("$a")
  fi
done
# The whole suite: first the tests that boot real VMs (test/vm/), one at a
# time and alone, because a TCG guest slowed down by the host's other work
# misses OpenClaw's own hard-coded start-up deadlines; then everything else,
# two files at a time (.taprc).
phases=()
if ((${#args[@]})); then
  phases=("${args[*]}")
else
  phases=("$(find test/vm -name '*.test.ts' | sort | tr '\n' ' ')" "$(find test -name '*.test.ts' -not -path 'test/vm/*' | sort | tr '\n' ' ')")
fi
rc=0
pass=0 fail=0 skip=0
started=$(date +%s)
for phase in "${phases[@]}"; do
  # shellcheck disable=SC2086 # a list of test files, split on purpose
  set -- $phase
  jobs=()
  [[ $1 == test/vm/* ]] && jobs=(--jobs=1)
  t0=$(date +%s)
  tap --reporter=tap "${jobs[@]}" "$@" 2>&1 | tee "$log"
  r=${PIPESTATUS[0]}
  [ "$r" -eq 0 ] || rc=$r
  awk -f scripts/tap-failures.awk "$log" >>"$failures"
  # tap's own last line is `# { total: N, pass: N, fail: N, ... }`; say it plainly.
  summary=$(grep -E '^# \{ total: ' "$log" | tail -n 1 || true)
  pass=$((pass + $(sed -nE 's/.*pass: ([0-9]+).*/\1/p' <<<"$summary" | grep . || echo 0)))
  fail=$((fail + $(sed -nE 's/.*fail: ([0-9]+).*/\1/p' <<<"$summary" | grep . || echo 0)))
  skip=$((skip + $(sed -nE 's/.*skip: ([0-9]+).*/\1/p' <<<"$summary" | grep . || echo 0)))
  echo "test: $# file(s) in $(($(date +%s) - t0)) s" >&2
done
set -e
if [ -s "$failures" ]; then
  # Said again at the end, where a long log is read first.
  echo "test: what failed:" >&2
  cat "$failures" >&2
fi
echo "test: whole run $(($(date +%s) - started)) s" >&2
echo "${pass} passed, ${fail} failed, ${skip} skipped"
exit "$rc"
