// Never passes on a reused session: two runs, each with its own nonce and its
// own state dir, and the stranger's DM never reaches the model.
import t from 'tap'
import { existsSync } from 'node:fs'
import { ownerRun, verifyLocal } from './verify-run.ts'

t.setTimeout(900_000)

t.test('a second run uses a new nonce and a new state dir; strangers are refused', async t => {
  const only = ['--only', 'owner-exec,stranger-refused']
  const first = await verifyLocal(t, 'tool', only)
  t.equal(first.result.code, 0, first.result.stderr.slice(-3000))
  const second = await verifyLocal(t, 'tool', only)
  t.equal(second.result.code, 0, second.result.stderr.slice(-3000))
  const a = ownerRun(first.gate('owner-exec'))
  const b = ownerRun(second.gate('owner-exec'))
  t.match(a.nonce, /^[0-9a-f]{16}$/)
  t.match(b.nonce, /^[0-9a-f]{16}$/)
  t.not(a.nonce, b.nonce, 'new nonce')
  t.ok(a.stateDir && b.stateDir && a.stateDir !== b.stateDir, `new state dir (${a.stateDir} vs ${b.stateDir})`)
  t.notOk(existsSync(a.stateDir), 'the first state dir is gone')
  // The second run's model calls know nothing of the first run.
  const calls = second.avots.requests().filter(r => r.path === '/v1/chat/completions')
  t.ok(calls.length >= 2, 'owner turn: tool call, then the answer')
  t.notOk(calls.some(r => JSON.stringify(r.body).includes(a.nonce)), "no trace of the first run's nonce in the second run")
  const firstCall = calls.find(r => JSON.stringify(r.body?.messages ?? []).includes(b.nonce))
  t.notOk((firstCall?.body?.messages ?? []).some((m: any) => m.role === 'assistant' || m.role === 'tool'), 'the owner turn opened an empty session')

  for (const run of [first, second]) {
    const g = run.gate('stranger-refused')
    t.ok(g.ok, g.detail)
    const nonce = ownerRun(run.gate('owner-exec')).nonce
    const reqs = run.avots.requests()
    t.notOk(reqs.some(r => JSON.stringify(r.body ?? '').includes(`${nonce}s`)), 'no model call for the stranger')
    t.notOk(reqs.some(r => r.answered === 'tool_call' && JSON.stringify(r.body ?? '').includes(`${nonce}s`)), 'no tool call for the stranger')
    t.match(g.detail, /no model call, no tool call, no reply/)
  }
})
