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
trap 'rm -f "$log"' EXIT
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
tap --reporter=tap "${args[@]}" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
# tap's own last line is `# { total: N, pass: N, fail: N, ... }`; say it plainly.
summary=$(grep -E '^# \{ total: ' "$log" | tail -n 1 || true)
pass=$(sed -nE 's/.*pass: ([0-9]+).*/\1/p' <<<"$summary")
fail=$(sed -nE 's/.*fail: ([0-9]+).*/\1/p' <<<"$summary")
skip=$(sed -nE 's/.*skip: ([0-9]+).*/\1/p' <<<"$summary")
echo "${pass:-0} passed, ${fail:-0} failed, ${skip:-0} skipped"
exit "$rc"
