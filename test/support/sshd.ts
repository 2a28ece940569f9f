// A real OpenSSH sshd on a free 127.0.0.1 port, temp host and client keys,
// one unprivileged login user (clawbake-sandbox): the `--local` gate sandbox,
// stopped (and its temp dirs removed) when the test ends.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startSshd, type Sshd } from '../../src/gates/sshd.ts'

export interface TestSshd extends Sshd {
  /** ssh options that log in with the run's client key and pinned host key */
  sshArgs: string[]
}

export async function sshd(t: { teardown(fn: () => unknown): void }): Promise<TestSshd> {
  const server = await startSshd()
  const dir = mkdtempSync(join(tmpdir(), 'clawbake-ssh-client-'))
  writeFileSync(join(dir, 'id'), server.clientKey, { mode: 0o600 })
  writeFileSync(join(dir, 'known_hosts'), server.knownHosts, { mode: 0o600 })
  t.teardown(async () => {
    await server.stop()
    rmSync(dir, { recursive: true, force: true })
  })
  return {
    ...server,
    sshArgs: ['-p', String(server.port), '-i', join(dir, 'id'), '-o', `UserKnownHostsFile=${join(dir, 'known_hosts')}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-o', 'ConnectTimeout=10'],
  }
}
