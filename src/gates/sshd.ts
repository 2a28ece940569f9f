// The `--local` sandbox: a real OpenSSH sshd on 127.0.0.1 (free port) that
// lets exactly one unprivileged user in, with a host key and a client key
// generated for this run only. OpenClaw's `sandbox.backend: "ssh"` runs every
// tool there, so a file it writes is owned by that user, not by the gateway.
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { envError } from '../errors.ts'
import { freeLoopbackPort } from '../loopback.ts'
import { run, runOk, startDaemon, tail, type Daemon } from '../proc/run.ts'

export const SANDBOX_USER = 'clawbake-sandbox'

export interface SandboxUser {
  name: string
  uid: number
  gid: number
}

export interface Sshd {
  host: '127.0.0.1'
  port: number
  user: SandboxUser
  /** `user@127.0.0.1:port`, OpenClaw's `sandbox.ssh.target` */
  target: string
  /** client private key (OpenSSH format) and the known_hosts line for this server */
  clientKey: string
  knownHosts: string
  /** a directory only the sandbox user may write to (mode 0700, owned by it) */
  sandboxRoot: string
  /** sshd's own log (stderr, -e) */
  log(): string
  stop(): Promise<void>
}

export function findSshd(): string {
  for (const p of ['/usr/sbin/sshd', '/usr/local/sbin/sshd', '/sbin/sshd']) if (existsSync(p)) return p
  throw envError('sshd not found: install openssh-server (scripts/setup.sh test installs it)', { rule: 'env.sshd-missing' })
}


async function lookupUser(name: string): Promise<SandboxUser | null> {
  const uid = await run('id', ['-u', name])
  const gid = await run('id', ['-g', name])
  if (uid.code !== 0 || gid.code !== 0) return null
  return { name, uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) }
}

/** The dedicated unprivileged sandbox user; created (no password, no sudo) when missing and we are root. */
export async function ensureSandboxUser(name = SANDBOX_USER): Promise<SandboxUser> {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    throw envError(
      `verify --local runs the sandbox as a separate unprivileged user (${name}) behind a real sshd, which needs root; run it as root (CI) or in the build VM`,
      { rule: 'env.sandbox-needs-root' },
    )
  }
  let user = await lookupUser(name)
  if (!user) {
    const added = await run('useradd', ['--system', '--user-group', '--create-home', '--home-dir', `/var/lib/${name}`, '--shell', '/bin/sh', name])
    // another run may have created it at the same moment
    if (added.code !== 0 && !(await lookupUser(name))) throw envError(`useradd ${name} failed (exit ${added.code}): ${added.stderr.trim()}`, { rule: 'env.sandbox-user' })
    user = await lookupUser(name)
    if (!user) throw envError(`sandbox user ${name} missing after useradd`, { rule: 'env.sandbox-user' })
  }
  if (user.uid === 0) throw envError(`sandbox user ${name} is root`, { rule: 'env.sandbox-user' })
  // OpenSSH (UsePAM no) refuses accounts whose password field starts with "!" (locked); "*" = no password, not locked.
  await runOk('usermod', ['-p', '*', name], { rule: 'env.sandbox-user' })
  return user
}

async function keygen(path: string, comment: string): Promise<void> {
  await runOk('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', path], { rule: 'env.sshd-keygen', timeoutMs: 60_000 })
}

async function accepting(port: number): Promise<boolean> {
  return await new Promise(resolve => {
    const s = connect(port, '127.0.0.1')
    s.once('data', d => { s.destroy(); resolve(String(d).startsWith('SSH-')) })
    s.once('error', () => resolve(false))
    setTimeout(() => { s.destroy(); resolve(false) }, 1000)
  })
}

export async function startSshd(opts: { user?: SandboxUser } = {}): Promise<Sshd> {
  const sshd = findSshd()
  const user = opts.user ?? await ensureSandboxUser()
  // sshd reads authorized_keys as the user, so its directory is world-traversable, root-owned and read-only.
  const dir = mkdtempSync(join(tmpdir(), 'clawbake-sshd-'))
  chmodSync(dir, 0o755)
  const sandboxRoot = mkdtempSync(join(tmpdir(), 'clawbake-sandbox-'))
  chownSync(sandboxRoot, user.uid, user.gid)
  chmodSync(sandboxRoot, 0o700)
  const cleanup = () => {
    rmSync(dir, { recursive: true, force: true })
    rmSync(sandboxRoot, { recursive: true, force: true })
  }
  let daemon: Daemon | undefined
  try {
    await keygen(join(dir, 'host_ed25519'), 'clawbake-sandbox-host')
    await keygen(join(dir, 'client_ed25519'), 'clawbake-gate')
    writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'client_ed25519.pub')), { mode: 0o644 })
    mkdirSync('/run/sshd', { recursive: true, mode: 0o755 })
    const port = await freeLoopbackPort()
    writeFileSync(join(dir, 'sshd_config'), [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${join(dir, 'host_ed25519')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      // /tmp is world-writable, so the path check of StrictModes cannot pass; the key file is root-owned 0644.
      'StrictModes no',
      `AllowUsers ${user.name}`,
      'PermitRootLogin no',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'AllowTcpForwarding no',
      'AllowAgentForwarding no',
      'AllowStreamLocalForwarding no',
      'PermitTunnel no',
      'X11Forwarding no',
      'PermitUserEnvironment no',
      'PrintMotd no',
      'LogLevel VERBOSE',
      'MaxStartups 50:30:100',
      'MaxSessions 50',
      '',
    ].join('\n'), { mode: 0o600 })
    const proc = startDaemon(sshd, ['-D', '-e', '-f', join(dir, 'sshd_config')])
    daemon = proc
    const until = Date.now() + 10_000
    while (!(await accepting(port))) {
      if (!proc.running() || Date.now() > until) {
        throw envError(`sshd did not start on 127.0.0.1:${port}: ${tail(proc.output(), 3)}`, { rule: 'env.sshd-start' })
      }
      await new Promise(r => setTimeout(r, 50))
    }
    const hostPub = readFileSync(join(dir, 'host_ed25519.pub'), 'utf8').trim().split(/\s+/).slice(0, 2).join(' ')
    return {
      host: '127.0.0.1',
      port,
      user,
      target: `${user.name}@127.0.0.1:${port}`,
      clientKey: readFileSync(join(dir, 'client_ed25519'), 'utf8'),
      knownHosts: `[127.0.0.1]:${port} ${hostPub}\n`,
      sandboxRoot,
      log: () => proc.output(),
      async stop() {
        await proc.stop(3000)
        cleanup()
      },
    }
  } catch (e) {
    await daemon?.stop(0)
    cleanup()
    throw e
  }
}
