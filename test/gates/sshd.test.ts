// The --local sandbox: a real sshd on loopback that lets in only the
// unprivileged sandbox user, with keys made for this run.
import t from 'tap'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { sshd } from '../support/sshd.ts'

const run = promisify(execFile)

t.test('the sandbox user logs in with the run key; root does not', async t => {
  const s = await sshd(t)
  t.equal(s.host, '127.0.0.1')
  t.not(s.user.uid, 0)
  const { stdout } = await run('ssh', [...s.sshArgs, `${s.user.name}@127.0.0.1`, `id -u; touch ${s.sandboxRoot}/made-by-sandbox && stat -c %u ${s.sandboxRoot}/made-by-sandbox`])
  const [uid, owner] = stdout.trim().split('\n')
  t.equal(Number(uid), s.user.uid, 'commands run as the sandbox user')
  t.equal(Number(owner), s.user.uid, 'files it writes are its own')
  await t.rejects(run('ssh', [...s.sshArgs, 'root@127.0.0.1', 'true']), 'root is refused')
  t.match(s.log(), /Accepted publickey for clawbake-sandbox/)
})
