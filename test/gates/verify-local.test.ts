// `npx clawbake verify --local --json` against the real openclaw@<pin> from
// npm, a real sshd sandbox and the tool-calling avots stand-in: every gate ok.
import t from 'tap'
import { existsSync } from 'node:fs'
import { gatesFor } from '../../src/gates/gate.ts'
import { ownerRun, verifyLocal } from './verify-run.ts'

t.setTimeout(900_000)

t.test('the whole suite passes against the tool-calling stand-in', async t => {
  const run = await verifyLocal(t, 'tool')
  t.equal(run.result.code, 0, `exit 0\n${run.result.stderr.slice(-4000)}`)
  t.equal(run.report.ok, true)
  t.match(run.report.openclawVersion, /^2026\.9\.6$/, 'the pinned version ran')
  t.same(run.report.gates.map(g => g.id), [...gatesFor('local')], 'every gate that needs no VM, in canonical order')
  t.notOk(run.report.gates.some(g => g.id === 'egress'), 'egress proves a VM: not run here')
  for (const g of run.report.gates) {
    t.ok(g.ok, `${g.id}: ${g.detail}`)
    t.type(g.ms, 'number')
  }
  // The stand-in saw what the gates claim: an exec call for the owner's nonce,
  // the tool result coming back, and nothing from the stranger.
  const { nonce, stateDir } = ownerRun(run.gate('owner-exec'))
  t.match(nonce, /^[0-9a-f]{16}$/)
  const reqs = run.avots.requests().filter(r => r.path === '/v1/chat/completions')
  const said = (r: typeof reqs[number], s: string) => JSON.stringify(r.body?.messages ?? []).includes(s)
  t.ok(reqs.some(r => said(r, nonce) && r.answered === 'tool_call'), 'the owner turn got an exec tool call')
  // the value the sandbox made: in the proof file, the tool result and the reply, never in the DM
  const value = /value ([0-9a-f]{24}) made and written to /.exec(run.gate('owner-exec').detail)?.[1] ?? ''
  t.match(value, /^[0-9a-f]{24}$/, 'the gate names the value the sandbox made')
  t.ok(reqs.some(r => (r.body?.messages ?? []).some((m: any) => m.role === 'tool' && String(m.content).includes(value))), 'its result went back to the model')
  t.notOk(reqs.some(r => (r.body?.messages ?? []).some((m: any) => m.role === 'user' && JSON.stringify(m.content).includes(value))), 'no user message (the DM) held the value')
  t.notOk(reqs.some(r => said(r, `${nonce}s`)), "no model call carried the stranger's DM")
  t.ok(reqs.every(r => r.authorized), 'every call carried the avots key')
  t.match(run.gate('untrusted-tools').detail, /offered: /)
  t.notMatch(run.gate('untrusted-tools').detail, /\bexec\b/)
  t.notOk(existsSync(stateDir), 'the fresh state dir was removed after the run')
  t.match(run.result.stderr, new RegExp(`all ${gatesFor('local').length} gate\\(s\\) passed`))
  t.match(run.gate('admin-tunnel').detail, /\/healthz ok; \/tools\/invoke without token 401, with token \d+/, 'the tunnel answers, and only with the token')
  t.notOk(run.result.stderr.includes(run.avots.apiKey), 'the avots key is not printed')
  t.notOk(run.result.stdout.includes(run.avots.apiKey), 'nor in the report')
})
