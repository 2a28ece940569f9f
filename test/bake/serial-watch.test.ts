// The build VM's serial console, watched for a kernel panic. The fixture is
// the real console of a 2026.9.6 build VM on the instruction clock (qemu 7.2,
// TCG single-threaded) whose kernel double-faulted after the egress gate:
// Packer then waited on SSH for ever. The real guest kernel's panic is in
// test/vm/debian-base.test.ts; the bake stops Packer through untilPanic, tested here
// on a real process that handles SIGINT as Packer does.
import t, { type Test } from 'tap'
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { findPanic, untilPanic, watchSerial, type GuestPanic } from '../../src/vm/serial-watch.ts'
import { run } from '../../src/proc/run.ts'

const REAL = readFileSync(new URL('./fixtures/serial-double-fault.log', import.meta.url), 'utf8')

/** A scratch serial.log path, removed after the test. */
function serialFile(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'clawbake-serial-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return join(dir, 'serial.log')
}

t.test('a real double fault: the panic line and the kernel\'s account from its first words', async t => {
  const p = findPanic(REAL)
  t.ok(p)
  t.equal(p?.reason, 'Kernel panic - not syncing: Fatal exception in interrupt')
  t.match(p?.evidence, /^\[\s*617\.902734\] traps: PANIC: double fault, error_code: 0x0 \| /, 'from the first oops-like line')
  t.match(p?.evidence, /RIP: 0010:kmem_cache_alloc_noprof\+0xbf\/0x2f0/)
  t.match(p?.evidence, /Kernel panic - not syncing: Fatal exception in interrupt$/, 'down to the panic itself')
  t.ok((p?.evidence.split(' | ').length ?? 0) <= 24, 'at most 24 lines')
  t.equal(findPanic(REAL.split('\n').slice(0, 20).join('\n')), null, 'the egress lines before it are no panic')
  t.equal(findPanic('[ 3.1] clawbake: Kernel panic drills are documented in oncall.md\n'), null, 'only the kernel\'s own words')
})

t.test('watching a growing console: fires once, also when the panic line arrives split across two looks', async t => {
  const file = serialFile(t)
  const seen: GuestPanic[] = []
  const w = watchSerial(file, p => seen.push(p), 20)
  t.teardown(() => w.stop())
  await new Promise(r => setTimeout(r, 60)) // no file yet: nothing
  const lines = REAL.split('\n')
  const at = lines.findIndex(l => l.includes('Kernel panic - not syncing'))
  writeFileSync(file, lines.slice(0, at).join('\n') + '\n' + (lines[at] ?? '').slice(0, 40))
  await new Promise(r => setTimeout(r, 80))
  t.equal(seen.length, 0, 'half a panic line is not a panic yet')
  appendFileSync(file, (lines[at] ?? '').slice(40) + '\n' + lines.slice(at + 1).join('\n'))
  const t0 = Date.now()
  while (!seen.length && Date.now() - t0 < 2000) await new Promise(r => setTimeout(r, 10))
  t.equal(seen.length, 1)
  t.equal(seen[0]?.reason, 'Kernel panic - not syncing: Fatal exception in interrupt')
  appendFileSync(file, 'Kernel panic - not syncing: again\n')
  await new Promise(r => setTimeout(r, 80))
  t.equal(seen.length, 1, 'once')
})

t.test('stop() takes a last look, so a panic just before the VM went away is not missed', async t => {
  const file = serialFile(t)
  const seen: GuestPanic[] = []
  const w = watchSerial(file, p => seen.push(p), 60_000)
  writeFileSync(file, REAL)
  w.stop()
  t.equal(seen.length, 1)
})

t.test('untilPanic: a wait on the guest (run as Packer is: SIGINT first) is stopped by the guest\'s panic, and says so', async t => {
  const file = serialFile(t)
  writeFileSync(file, REAL.split('\n').slice(0, 10).join('\n') + '\n')
  const said: string[] = []
  const t0 = Date.now()
  setTimeout(() => appendFileSync(file, REAL.split('\n').slice(10).join('\n')), 300)
  const { value, panic } = await untilPanic(file, undefined, signal => run('sh', ['-c', 'trap "echo stopping the VM; exit 130" INT; while :; do sleep 0.1; done'], { signal, abortWith: 'SIGINT', abortGraceMs: 5000 }), p => said.push(p.reason), 50)
  t.equal(value.code, 130, 'it got SIGINT and cleaned up, as Packer does')
  t.equal(value.stdout, 'stopping the VM\n')
  t.ok(Date.now() - t0 < 5000, `at once (${Date.now() - t0} ms), not at a timeout`)
  t.equal(panic?.reason, 'Kernel panic - not syncing: Fatal exception in interrupt')
  t.same(said, ['Kernel panic - not syncing: Fatal exception in interrupt'])

  const quiet = await untilPanic(serialFile(t), undefined, () => run('sh', ['-c', 'echo built']), undefined, 50)
  t.same([quiet.value.stdout, quiet.panic], ['built\n', null], 'no panic: the result as it is')

  const ac = new AbortController()
  setTimeout(() => ac.abort(), 200)
  const ctrlC = await untilPanic(serialFile(t), ac.signal, signal => run('sleep', ['30'], { signal }), undefined, 50)
  t.same([ctrlC.value.signal, ctrlC.panic], ['SIGKILL', null], 'Ctrl-C still stops it, and no panic is claimed')
})
