// The gates fail when they should: a model that answers in text fails
// owner-exec (the classic false pass), a 401 from avots fails avots-smoke.
import t from 'tap'
import { ownerRun, verifyLocal } from './verify-run.ts'

t.setTimeout(900_000)

t.test('text-only model: owner-exec fails, exit 1, failing gate named', async t => {
  const run = await verifyLocal(t, 'text', ['--only', 'owner-exec'])
  t.equal(run.result.code, 1)
  t.equal(run.report.ok, false)
  const g = run.gate('owner-exec')
  t.equal(g.ok, false)
  t.match(g.detail, /no exec tool call/)
  t.match(g.detail, /proof file .* not found in the sandbox/)
  t.match(g.detail, /no reply to the owner|none quoting the value the sandbox made/)
  t.match(ownerRun(g).nonce, /^[0-9a-f]{16}$/)
  t.ok(run.avots.requests().some(r => r.answered === 'text'), 'the stand-in answered in text')
  t.notOk(run.avots.requests().some(r => r.answered === 'tool_call'))
  t.match(run.result.stderr, /FAILED 1 of 1 gate\(s\): owner-exec/)
})

t.test('avots answers 401: avots-smoke fails, exit 1', async t => {
  const run = await verifyLocal(t, '401', ['--only', 'avots-smoke,models'])
  t.equal(run.result.code, 1)
  const g = run.gate('avots-smoke')
  t.equal(g.ok, false)
  t.match(g.detail, /non-stream: HTTP 401/)
  t.match(g.detail, /stream: HTTP 401/)
  t.ok(run.gate('models').ok, 'the config-only gate still passes: only the failing gate is named')
  t.match(run.result.stderr, /FAILED 1 of 2 gate\(s\): avots-smoke\n/)
})
