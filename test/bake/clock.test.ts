// The guest clock under TCG: chosen from the release's own files (a fixed
// start-up deadline means the instruction clock), forced by
// CLAWBAKE_TCG_CLOCK, refused under KVM, and turned into qemu arguments and
// host-side timeouts in one place.
import t from 'tap'
import { acceleratorArgs, chooseClock, INSTRUCTION_CLOCK_WALL_RATIO, tcgClockFromEnv } from '../../src/vm/accelerator.ts'
import { clockFor, qemuSettings } from '../../src/bake/qemu.ts'
import { bootTimeouts } from '../../src/boottest/boot-test.ts'

t.test('qemu arguments: real time is multi-threaded TCG, the instruction clock single-threaded with -icount', async t => {
  t.same(acceleratorArgs('tcg', {}), ['-accel', 'tcg,thread=multi', '-cpu', 'max'])
  t.same(acceleratorArgs('tcg', {}, 'instructions'), ['-accel', 'tcg,thread=single', '-icount', 'shift=0,sleep=on', '-cpu', 'max'])
  t.same(acceleratorArgs('kvm', {}, 'instructions'), ['-accel', 'kvm', '-cpu', 'host'], 'KVM is never slowed')
})

t.test('chosen by need, forced by CLAWBAKE_TCG_CLOCK, refused where it would only slow KVM', async t => {
  const deadline = { what: 'OpenClaw 2026.9.6 has a fixed 5 s state-lease start' }
  t.match(chooseClock('tcg', {}, deadline), { clock: 'instructions', ratio: INSTRUCTION_CLOCK_WALL_RATIO, why: /fixed 5 s state-lease start, which a real-time TCG guest misses/ })
  t.match(chooseClock('tcg', {}, null), { clock: 'real', ratio: 1 })
  t.match(chooseClock('tcg', { CLAWBAKE_TCG_CLOCK: 'real' }, deadline), { clock: 'real', why: 'CLAWBAKE_TCG_CLOCK=real' })
  t.match(chooseClock('tcg', { CLAWBAKE_TCG_CLOCK: 'instructions' }, null), { clock: 'instructions', why: 'CLAWBAKE_TCG_CLOCK=instructions' })
  t.match(chooseClock('kvm', {}, deadline), { clock: 'real', ratio: 1 })
  t.throws(() => chooseClock('kvm', { CLAWBAKE_TCG_CLOCK: 'instructions' }, null), { exitCode: 2, rule: 'env.tcg-clock', message: /refused under KVM/ })
  t.throws(() => tcgClockFromEnv({ CLAWBAKE_TCG_CLOCK: 'icount' }), { exitCode: 2, message: /CLAWBAKE_TCG_CLOCK must be one of real, instructions, got "icount"/ })
  t.equal(tcgClockFromEnv({}), null)
})

t.test('host-side waits follow the clock\'s measured ratio', async t => {
  const real = bootTimeouts('tcg')
  const ic = bootTimeouts('tcg', { clock: 'instructions', why: 'x', ratio: INSTRUCTION_CLOCK_WALL_RATIO })
  t.equal(ic.timeouts.readyMs, Math.round(real.timeouts.readyMs! * INSTRUCTION_CLOCK_WALL_RATIO))
  t.equal(ic.timeouts.sshMs, Math.round(real.timeouts.sshMs! * INSTRUCTION_CLOCK_WALL_RATIO))
  const q = qemuSettings('tcg', { serialLog: '/tmp/s', guestfwd: [], clock: { clock: 'instructions', why: 'x', ratio: INSTRUCTION_CLOCK_WALL_RATIO } })
  t.equal(q.vars.ssh_timeout, '51m')
  t.match(JSON.stringify(q.vars.qemuargs), /"-icount","shift=0,sleep=on"/)
})

t.test('from the releases\' own files, as installed from npm', async t => {
  t.match(await clockFor('tcg', '2026.9.6', {}), { clock: 'instructions', why: /OpenClaw 2026\.9\.6 has a fixed 5 s state-lease start \(LEASE_HEARTBEAT_START_TIMEOUT_MS in dist\// })
  t.match(await clockFor('tcg', '2026.7.35', {}), { clock: 'real', why: 'no fixed start-up deadline in this release' })
  t.match(await clockFor('kvm', '2026.9.6', {}), { clock: 'real' })
})
