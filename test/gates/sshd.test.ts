// The --local sandbox: a real sshd on loopback that lets in only the
// unprivileged sandbox user, with keys made for this run.
import t from 'tap'
import { sshd } from '../support/sshd.ts'
import { run, runOk } from '../../src/proc/run.ts'


t.test('the sandbox user logs in with the run key; root does not', async t => {
  const s = await sshd(t)
  t.equal(s.host, '127.0.0.1')
  t.not(s.user.uid, 0)
  const { stdout } = await runOk('ssh', [...s.sshArgs, `${s.user.name}@127.0.0.1`, `id -u; touch ${s.sandboxRoot}/made-by-sandbox && stat -c %u ${s.sandboxRoot}/made-by-sandbox`])
  const [uid, owner] = stdout.trim().split('\n')
  t.equal(Number(uid), s.user.uid, 'commands run as the sandbox user')
  t.equal(Number(owner), s.user.uid, 'files it writes are its own')
  t.not((await run('ssh', [...s.sshArgs, 'root@127.0.0.1', 'true'])).code, 0, 'root is refused')
  t.match(s.log(), /Accepted publickey for clawbake-sandbox/)
})
