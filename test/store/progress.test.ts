// Progress lines show a true rate from the first one: the clock starts when
// the transfer starts (push: before the first PATCH; pull: before the first
// GET), not when the first chunk is acknowledged.
import t from 'tap'
import { progress } from '../../src/store/progress.ts'

const MIB = 1 << 20
const sleep = (ms: number) => new Promise(r => setTimeout(r, ms))

t.test('the first line of a transfer that starts at 0 reports the rate since the start', async t => {
  const lines: string[] = []
  const p = progress({ err: s => { lines.push(s) }, tty: false }, 'push', 100 * MIB)
  p.update(0) // the transfer starts: no line yet
  t.equal(lines.length, 0)
  await sleep(200)
  p.update(32 * MIB) // the first chunk acknowledged after ~200 ms: ~160 MiB/s, not thousands
  t.equal(lines.length, 1)
  const rate = Number(/, ([\d.]+) MiB\/s/.exec(lines[0]!)?.[1])
  t.ok(rate > 0 && rate < 320, `a true rate on the first line (${lines[0]!.trim()})`)
})

t.test('a resumed pull counts only this run\'s bytes', async t => {
  const lines: string[] = []
  const p = progress({ err: s => { lines.push(s) }, tty: false }, 'pull', 100 * MIB, 50 * MIB)
  p.update(50 * MIB)
  await sleep(200)
  p.update(70 * MIB)
  const rate = Number(/, ([\d.]+) MiB\/s/.exec(lines[0]!)?.[1])
  t.ok(rate > 0 && rate < 200, `rate from the resume point (${lines[0]!.trim()})`)
})
