// Ctrl-C during a boot test, for real: `clawbake boot-test` on a disk that
// never boots (a blank qcow2: qemu runs, SSH never answers) gets SIGINT while
// it waits for SSH. It must stop its qemu by PID and exit 2 at once, not when
// the wait it was in would have timed out (15 minutes under TCG).
import t from 'tap'
import { join } from 'node:path'
import { BIN } from '../support/cli.ts'
import { tempTree } from '../support/tree.ts'
import { run, runOk, startDaemon } from '../../src/proc/run.ts'
import { EXIT_AFTER_INTERRUPT_MS } from '../../src/cli/stop-signals.ts'

t.test('SIGINT while the VM boots: qemu stopped, exit 2, within seconds', async t => {
  const root = tempTree(t)
  const image = join(root, 'blank.qcow2')
  await runOk('qemu-img', ['create', '-q', '-f', 'qcow2', image, '64M'])
  const dir = join(root, '.clawbake', 'boot-test')
  let signalledAt = 0
  let pid = 0
  const qemuOf = async () => (await run('pgrep', ['-f', `qemu-system-x86_64 .*${root}`])).stdout.trim()
  const exit = await new Promise<number | null>(resolve => {
    const d = startDaemon(process.execPath, [BIN, 'boot-test', image, '--rehearsal', '--once'], {
      env: { ...process.env, CLAWBAKE_ROOT: root, CLAWBAKE_ACCELERATOR: 'tcg' },
      cwd: root,
      onLine: line => {
        if (!signalledAt && /waiting for SSH/.test(line)) {
          signalledAt = Date.now()
          // the VM is up by now (qemu runs); the interrupt comes while its SSH is awaited
          void qemuOf().then(q => {
            t.ok(q, `qemu runs before the interrupt (pid ${q || 'none'})`)
            process.kill(pid, 'SIGINT')
          })
        }
      },
    })
    pid = d.pid
    t.teardown(() => d.stop())
    void d.exited.then(code => {
      t.comment(d.output().slice(-1500))
      resolve(code)
    })
  })
  t.ok(signalledAt, 'interrupted while waiting for SSH')
  t.equal(exit, 2, 'exit 2 after the interrupt')
  const took = Date.now() - signalledAt
  t.ok(took < 20_000, `exited ${(took / 1000).toFixed(1)} s after the interrupt (at most ${EXIT_AFTER_INTERRUPT_MS / 1000} s after it reported), not after the SSH wait's timeout`)
  t.equal(await qemuOf(), '', 'no qemu of this test left running')
  t.comment(`the run directory is kept for inspection: ${dir}`)
})
