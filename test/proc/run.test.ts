// The one process runner (src/proc/run.ts): arguments are never a shell
// string, non-zero exits are results, a missing program is an environment
// error, timeouts and stops reach the whole process group, output is masked.
import t from 'tap'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ClawbakeError } from '../../src/errors.ts'
import { run, runOk, startDaemon, tail, which } from '../../src/proc/run.ts'

// running: there and not a zombie (an orphan killed here may wait for a reaper that is not us)
const alive = (pid: number) => {
  try { return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8')) } catch { return false }
}
const settle = () => new Promise(r => setTimeout(r, 100))

t.test('arguments reach the program as they are, never through a shell', async t => {
  const r = await run('printf', ['%s|', 'a b', "it's", '$(echo no)', ';ls'])
  t.equal(r.code, 0)
  t.equal(r.stdout, "a b|it's|$(echo no)|;ls|")
  t.match(r.command, /^printf /)
})

t.test('a non-zero exit is a result; runOk makes it an error naming command and output', async t => {
  const r = await run('sh', ['-c', 'echo out; echo oops >&2; exit 3'])
  t.equal(r.code, 3)
  t.equal(r.stderr, 'oops\n')
  const e = await runOk('sh', ['-c', 'echo oops >&2; exit 3'], { rule: 'test.failed', what: 'the thing' }).catch(e => e)
  t.ok(e instanceof ClawbakeError)
  t.equal(e.rule, 'test.failed')
  t.equal(e.exitCode, 2)
  t.match(e.message, /the thing failed \(exit 3\): oops/)
})

t.test('a program that is not installed is an environment error, with the caller\'s wording if given', async t => {
  const e = await run('clawbake-no-such-program', []).catch(e => e)
  t.ok(e instanceof ClawbakeError)
  t.equal(e.rule, 'env.program-missing')
  const f = await run('clawbake-no-such-program', [], { ifMissing: { message: 'install it', rule: 'env.it-missing' } }).catch(e => e)
  t.equal(f.rule, 'env.it-missing')
  t.equal(f.message, 'install it')
})

t.test('input goes to stdin; without input stdin is empty, never left open', async t => {
  t.equal((await run('cat', [], { input: 'hello' })).stdout, 'hello')
  const r = await run('cat', [], { timeoutMs: 5000 })
  t.equal(r.timedOut, false)
  t.equal(r.stdout, '')
})

t.test('a timeout kills the whole process group', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'clawbake-run-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const pidFile = join(dir, 'child.pid')
  const r = await run('sh', ['-c', `sleep 30 & echo $! > ${pidFile}; wait`], { timeoutMs: 500 })
  t.equal(r.timedOut, true)
  t.equal(r.code, null)
  t.equal(r.signal, 'SIGKILL', 'the shell itself was killed, not left to go on after its child died (a tree killed child-first lets `wait` return 0)')
  await settle()
  t.notOk(alive(Number(readFileSync(pidFile, 'utf8'))), 'the grandchild is gone too')
  const after = await run('sh', ['-c', 'sleep 30 & wait; echo went on after the timeout'], { timeoutMs: 300 })
  t.same([after.timedOut, after.code, after.stdout], [true, null, ''], 'the whole group at once: nothing of the script runs after its time is up')
  const e = await runOk('sleep', ['30'], { timeoutMs: 200 }).catch(e => e)
  t.match(e.message, /timed out after 0 s/)
})

t.test('an abort kills the process', async t => {
  const ac = new AbortController()
  setTimeout(() => ac.abort(), 200)
  const r = await run('sleep', ['30'], { signal: ac.signal })
  t.equal(r.signal, 'SIGKILL')
  t.equal(r.timedOut, false)
})

t.test('what a run left behind in its process group does not outlive it', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'clawbake-run-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const pidFile = join(dir, 'straggler.pid')
  const r = await run('sh', ['-c', `sleep 30 >/dev/null 2>&1 & echo $! > ${pidFile}`])
  t.equal(r.code, 0)
  await settle()
  t.notOk(alive(Number(readFileSync(pidFile, 'utf8'))))
})

t.test('every captured and streamed line is masked', async t => {
  const masker = { mask: (s: string) => s.replaceAll('s3cret', '***') }
  const lines: string[] = []
  const r = await run('sh', ['-c', 'echo token=s3cret; echo s3cret >&2', 'arg-s3cret'], { masker, onLine: (l, stream) => lines.push(`${stream}:${l}`) })
  t.equal(r.stdout, 'token=***\n')
  t.equal(r.stderr, '***\n')
  t.same(lines.sort(), ['stderr:***', 'stdout:token=***'])
  t.notMatch(r.command, /s3cret/)
})

t.test('a daemon runs until stopped by its PID, its output kept', async t => {
  const d = startDaemon('sh', ['-c', 'echo started; exec sleep 30'])
  t.ok(d.pid > 0)
  await settle()
  t.ok(d.running())
  t.ok(alive(d.pid))
  t.equal(d.output(), 'started\n')
  await d.stop(1000)
  t.notOk(d.running())
  t.notOk(alive(d.pid))
  await d.stop() // again: nothing to do
})

t.test('a daemon that ignores SIGTERM is killed after the grace time', async t => {
  const d = startDaemon('sh', ['-c', "trap '' TERM; echo ready; while :; do sleep 0.1; done"])
  while (!d.output().includes('ready')) await settle()
  await d.stop(300)
  t.notOk(d.running())
  t.equal(await d.exited, null)
})

t.test('tail keeps the last non-empty lines on one line', async t => {
  t.equal(tail('a\n\n b \nc\n', 2), 'b | c')
  t.equal(tail(''), '')
})

t.test('a missing program is found missing before anything starts, named with its Debian package', async t => {
  const e = await run('zerofree', ['-v', '/dev/null'], { env: { PATH: '/nonexistent' } }).catch(e => e)
  t.ok(e instanceof ClawbakeError)
  t.equal(e.rule, 'env.program-missing')
  t.equal(e.exitCode, 2)
  t.match(e.message, /^cannot run zerofree: not installed or not on PATH \(Debian package zerofree; `npm run setup` installs it\)$/)
  t.throws(() => startDaemon('docker-registry', ['serve'], { env: { PATH: '' } }), /Debian package docker-registry/, 'a daemon too, before it starts')
  t.equal(which('sh', { PATH: '' }), null, 'an empty PATH finds nothing')
  t.equal(which('sh', { PATH: '/usr/bin:/bin' }), '/usr/bin/sh')
})

t.test('a program given by a relative path is looked up from the run\'s cwd', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'clawbake-run-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'hello.sh'), '#!/bin/sh\necho hello from "$PWD"\n', { mode: 0o755 })
  const r = await run('./hello.sh', [], { cwd: dir })
  t.equal(r.stdout, `hello from ${dir}\n`)
  const e = await run('./hello.sh', []).catch(e => e)
  t.equal(e.rule, 'env.program-missing', 'not from this process\'s cwd')
})

t.test('on abort the caller\'s signal reaches the process tree first, SIGKILL after the grace time', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'clawbake-run-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const ac = new AbortController()
  const ready = join(dir, 'ready')
  const lines: string[] = []
  const polite = run('sh', ['-c', `trap 'echo cleaning up; exit 7' INT; touch ${ready}; while :; do sleep 0.1; done`], { signal: ac.signal, abortWith: 'SIGINT', abortGraceMs: 5000, onLine: l => lines.push(l) })
  while (!existsSync(ready)) await settle()
  ac.abort()
  const r = await polite
  t.equal(r.code, 7, 'it stopped itself on SIGINT')
  t.same(lines, ['cleaning up'])
  rmSync(ready)
  const ac2 = new AbortController()
  const t0 = Date.now()
  const stubborn = run('sh', ['-c', `trap '' INT; touch ${ready}; while :; do sleep 0.1; done`], { signal: ac2.signal, abortWith: 'SIGINT', abortGraceMs: 300 })
  while (!existsSync(ready)) await settle()
  ac2.abort()
  const s = await stubborn
  t.equal(s.signal, 'SIGKILL', 'one that ignores it is killed after the grace time')
  t.ok(Date.now() - t0 < 5000)
})
