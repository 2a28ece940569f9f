// scripts/tap-failures.awk runs for real (awk) on TAP as tap itself writes it:
// a nested failure is named by its whole path with its diagnostic, once (not
// again for each enclosing subtest), without stack or source.
import t from 'tap'
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runOk } from '../../src/proc/run.ts'

const TAP = `TAP version 14
1..1
# Subtest: test/vm/rehearsal-bake.test.ts
    # Subtest: a rehearsal bake
        # Subtest: gates
            ok 1 - config-valid passed
            not ok 2 - egress passed
              ---
              found: failed
              wanted: passed
              at:
                fileName: test/vm/rehearsal-bake.test.ts
                lineNumber: 3
              stack: |
                Test.<anonymous> (test/vm/rehearsal-bake.test.ts:3:34)
              source: |
                t.equal(gate.status, 'passed')
              ...

            1..2
        not ok 1 - gates # time=2.1ms

        ok 2 - inspection was clean
        1..2
    not ok 1 - a rehearsal bake # time=3.0ms

    not ok 2 - Ctrl-C stops the bake
      ---
      found: 0
      wanted: 130
      ...

    1..2
not ok 1 - test/vm/rehearsal-bake.test.ts # time=5ms

# { total: 4, pass: 1, fail: 3 }
`

t.test('names each failed assertion once, with its path and diagnostic', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'clawbake-tapfail-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'run.log'), TAP)
  const out = (await runOk('awk', ['-f', 'scripts/tap-failures.awk', join(dir, 'run.log')])).stdout
  const heads = out.split('\n').filter(l => l.startsWith('not ok: '))
  t.same(heads, [
    'not ok: test/vm/rehearsal-bake.test.ts > a rehearsal bake > gates > egress passed',
    'not ok: test/vm/rehearsal-bake.test.ts > Ctrl-C stops the bake',
  ])
  t.match(out, /found: failed\n\s+wanted: passed/)
  t.match(out, /found: 0\n\s+wanted: 130/)
  t.notMatch(out, /stack:|source:|fileName|Test\.<anonymous>/)
})

t.test('says nothing when nothing failed', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'clawbake-tapfail-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'run.log'), 'TAP version 14\n1..1\nok 1 - fine\n')
  t.equal((await runOk('awk', ['-f', 'scripts/tap-failures.awk', join(dir, 'run.log')])).stdout, '')
})
