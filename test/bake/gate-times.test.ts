import t from 'tap'
import { gateStamper, withHostTimes } from '../../src/bake/gate-times.ts'
import type { GateReport } from '../../src/gates/gate.ts'

const report: GateReport = {
  ok: true,
  openclawVersion: '2026.9.6',
  mode: 'vm',
  gates: [
    { id: 'avots-smoke', ok: true, detail: 'x', ms: 4000 },
    { id: 'owner-exec', ok: true, detail: 'y', ms: 30000 },
  ],
}

t.test('stamps the gate run start and each result line on the host clock, as they arrive from the build VM', async t => {
  let now = Date.parse('2026-12-03T10:00:00.000Z')
  const s = gateStamper(() => now)
  s.observe('    qemu.ubuntu: gates: state dir /x') // not a start
  s.observe('    qemu.ubuntu: gates: verify (vm): openclaw 2026.9.6, run nonce abc')
  now += 4_500
  s.observe('    qemu.ubuntu: gates: ok   avots-smoke (4.0 s): tool call returned')
  now += 61_000
  s.observe('    qemu.ubuntu: gates: FAIL owner-exec (30.0 s): no exec tool call')
  now += 1_000
  s.observe('    qemu.ubuntu: gates: ok   owner-exec (30.0 s): a repeat is not stamped again')
  s.observe('    qemu.ubuntu: ok   not-a-gate (1.0 s): unknown ids are ignored')
  const r = withHostTimes(report, s.stamps, 'tcg-instructions')
  t.same(r.host, { startedAt: '2026-12-03T10:00:00.000Z', finishedAt: '2026-12-03T10:01:05.500Z', guestClock: 'tcg-instructions' })
  t.same(r.gates.map(g => [g.id, g.ms, g.hostAt]), [
    ['avots-smoke', 4000, '2026-12-03T10:00:04.500Z'],
    ['owner-exec', 30000, '2026-12-03T10:01:05.500Z'],
  ], 'the guest-clock durations stay; the host times come beside them')
  t.equal(report.host, undefined, 'the report read from the VM is not changed in place')
})

t.test('the null builder: the suite logs behind Packer\'s prefix only, on this machine', async t => {
  let now = 1_000_000
  const s = gateStamper(() => now)
  s.observe('    null.rehearsal: verify (local): openclaw 2026.9.6, run nonce abc')
  now += 2_000
  s.observe('    null.rehearsal: ok   config-valid (1.9 s): valid')
  const r = withHostTimes({ ...report, gates: [{ id: 'config-valid', ok: true, detail: 'valid', ms: 1900 }] }, s.stamps, 'host')
  t.equal(r.host?.guestClock, 'host')
  t.equal(r.gates[0]?.hostAt, new Date(1_002_000).toISOString())
})

t.test('no gate line seen (the build failed before the gates): the report is returned as it is', async t => {
  const s = gateStamper(() => 0)
  s.observe('==> qemu.ubuntu: Waiting for SSH to become available...')
  t.equal(withHostTimes(report, s.stamps, 'kvm'), report)
})
