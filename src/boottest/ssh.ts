// The operator's SSH into a client's VM, as an operator has it: a key of the
// run's own (handed to the VM as metadata), the VM's host key learned on
// first contact into a known_hosts file of the run (then checked strictly),
// commands run with sudo where they need root, and the admin tunnel
// (`ssh -N -L 127.0.0.1:<port>:127.0.0.1:18789`).
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { freeLoopbackPort } from '../loopback.ts'
import { run, runOk, startDaemon, type Daemon, type Mask, type RunResult } from '../proc/run.ts'

export interface SshKey {
  privateKey: string
  publicKey: string
}

export async function newSshKey(dir: string, comment: string): Promise<SshKey> {
  const privateKey = join(dir, 'id_ed25519')
  if (!existsSync(privateKey)) await runOk('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', privateKey], { rule: 'boot-test.ssh-key' })
  return { privateKey, publicKey: readFileSync(`${privateKey}.pub`, 'utf8').trim() }
}

export interface Ssh {
  user: string
  port: number
  knownHosts: string
  /** run `command` (a shell line) on the VM; `sudo -n` in front when root is needed */
  exec(command: string, opts?: { sudo?: boolean; timeoutMs?: number; input?: string }): Promise<RunResult>
  /** `ssh -N -L`: the VM's 127.0.0.1:<remotePort> on this machine's 127.0.0.1:<returned port> */
  tunnel(remotePort: number): Promise<{ localPort: number; daemon: Daemon }>
  /** a long-running command whose output is kept (e.g. `docker logs -f`) */
  follow(command: string, opts?: { sudo?: boolean }): Daemon
}

export function sshTo(opts: { port: number; user: string; key: SshKey; knownHosts: string; masker?: Mask }): Ssh {
  const base = (extra: string[]) => [
    '-p', String(opts.port), '-i', opts.key.privateKey,
    '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR', '-o', 'ConnectTimeout=20',
    // first contact records the VM's new host key; every later connection must match it
    '-o', 'StrictHostKeyChecking=accept-new', '-o', `UserKnownHostsFile=${opts.knownHosts}`, '-o', 'HashKnownHosts=no',
    '-o', 'ServerAliveInterval=15', '-o', 'ServerAliveCountMax=8',
    ...extra, `${opts.user}@127.0.0.1`,
  ]
  const common = opts.masker ? { masker: opts.masker } : {}
  const remote = (command: string, sudo?: boolean) => (sudo ? `sudo -n sh -c ${shellQuote(command)}` : command)
  return {
    user: opts.user,
    port: opts.port,
    knownHosts: opts.knownHosts,
    exec(command, o = {}) {
      return retryUnconnected(() => run('ssh', [...base([]), remote(command, o.sudo)], { timeoutMs: o.timeoutMs ?? 120_000, ...(o.input !== undefined ? { input: o.input } : {}), ...common }))
    },
    async tunnel(remotePort) {
      const localPort = await freeLoopbackPort()
      const daemon = startDaemon('ssh', [...base(['-N', '-o', 'ExitOnForwardFailure=yes', '-L', `127.0.0.1:${localPort}:127.0.0.1:${remotePort}`])], common)
      return { localPort, daemon }
    },
    follow(command, o = {}) {
      return startDaemon('ssh', [...base([]), remote(command, o.sudo)], common)
    },
  }
}

/** ssh's words for a connection that never reached the command (exit 255). */
export const SSH_NOT_CONNECTED = /kex_exchange_identification|Connection (reset by peer|refused|closed by remote host)|Connection timed out during banner exchange/

/**
 * One ssh run, again (up to 5 times, 3 s apart) while it fails before the
 * command ran: a fresh VM's sshd is restarted once more by cloud-init after
 * it first answers.
 */
export async function retryUnconnected(once: () => Promise<RunResult>): Promise<RunResult> {
  for (let attempt = 1; ; attempt++) {
    const r = await once()
    if (r.code !== 255 || !SSH_NOT_CONNECTED.test(r.stderr) || attempt >= 5) return r
    await new Promise(res => setTimeout(res, 3000))
  }
}

export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`
}
