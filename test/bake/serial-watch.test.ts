// The build VM's serial console, watched for a kernel panic. The fixture is
// the real console of a 2026.9.6 build VM on the instruction clock (qemu 7.2,
// TCG single-threaded) whose kernel double-faulted after the egress gate:
// Packer then waited on SSH for ever. The real guest kernel's panic is in
// test/vm/debian-base.test.ts.
import t, { type Test } from 'tap'
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { findPanic, watchSerial, type GuestPanic } from '../../src/vm/serial-watch.ts'

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
