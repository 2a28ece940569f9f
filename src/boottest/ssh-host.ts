// OpenClaw on a client's VM, seen from outside over SSH: the stack first boot
// started (openclaw.service, the shipped compose project), reached the way
// the operator reaches it (the admin tunnel for the gateway port, sudo over
// SSH for the rest). It is the OpenclawHost the conversation gates run
// against, so owner-exec and stranger-refused are the very gates of the
// build VM, and the VmView the admin-tunnel gate reads the VM's sockets from.
import type { CliRun, Gateway, Listener, OpenclawHost, SandboxFile } from '../gates/host.ts'
import { parseSs, SS_ARGS, type VmView } from '../gates/admin-tunnel.ts'
import { OPENCLAW_ROOT, SANDBOX_HOME, SANDBOX_USER } from '../gates/host-compose.ts'
import { COMPOSE } from '../gates/egress.ts'
import { LEASE_START_LOST_TEXT, leaseStartStuck } from '../openclaw/lease.ts'
import { tail, type Daemon } from '../proc/run.ts'
import type { Ssh } from './ssh.ts'
import { shellQuote } from './ssh.ts'

const GATEWAY_PORT = 18789

export interface SshOpenclaw {
  host: OpenclawHost
  vm: VmView
  gateway: Gateway
  /** the admin tunnel: this machine's 127.0.0.1:<port> is the VM's 127.0.0.1:18789 */
  tunnelPort: number
}

/** The command line that prints how often Docker restarted container `id`. */
const restartCountOf = (id: string) => `docker inspect -f '{{.RestartCount}}' ${id}`

/** The gateway container of the shipped project, or ''. */
export async function gatewayContainer(ssh: Ssh): Promise<string> {
  const r = await ssh.exec(`${COMPOSE} ps -a -q openclaw-gateway`, { sudo: true })
  return r.stdout.trim().split('\n')[0] ?? ''
}

/** Why the stack is not serving, in the VM's own words: the unit, its journal, the container's state and logs. */
export async function stackEvidence(ssh: Ssh): Promise<string> {
  const unit = await ssh.exec('systemctl status --no-pager --lines 0 openclaw.service; journalctl -u openclaw.service --no-pager -n 20 -o cat', { sudo: true })
  const id = await gatewayContainer(ssh)
  const parts = [`openclaw.service: ${tail(unit.stdout + unit.stderr, 14)}`]
  if (id) {
    const st = await ssh.exec(`docker inspect -f '{{.State.Status}} exit={{.State.ExitCode}} restarts={{.RestartCount}} health={{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}} oom={{.State.OOMKilled}}' ${id}; docker logs --tail 30 ${id} 2>&1`, { sudo: true })
    parts.push(`container ${id.slice(0, 12)}: ${tail(st.stdout + st.stderr, 16).slice(-2500)}`)
  } else {
    parts.push('no openclaw-gateway container')
  }
  return parts.join('; ')
}

export async function sshOpenclaw(ssh: Ssh, opts: { version: string; timeScale: number }): Promise<SshOpenclaw> {
  const uidRun = await ssh.exec(`id -u ${SANDBOX_USER}`)
  const uid = Number(uidRun.stdout.trim())
  const { localPort, daemon: tunnel } = await ssh.tunnel(GATEWAY_PORT)
  // the gateway's log, followed from its start: stranger-refused reads the gateway's decision in it
  let logs: Daemon | null = null
  const id = await gatewayContainer(ssh)
  if (id) logs = ssh.follow(`docker logs -f ${id} 2>&1`, { sudo: true })
  let stopped = false
  const gateway: Gateway = {
    output: () => logs?.output() ?? '',
    exited: () => stopped,
    evidence: () => stackEvidence(ssh),
    async restarts() {
      const c = await gatewayContainer(ssh)
      return c ? Number((await ssh.exec(restartCountOf(c), { sudo: true })).stdout.trim()) || 0 : 0
    },
    async startStuck() {
      const c = await gatewayContainer(ssh)
      if (!c) return null
      // one ssh round: the restart count, then OpenClaw's line (if any)
      const r = await ssh.exec(`${restartCountOf(c)}; docker logs ${c} 2>&1 | grep -m1 -F ${shellQuote(LEASE_START_LOST_TEXT)}`, { sudo: true })
      const [count = '', ...lines] = r.stdout.split('\n')
      return leaseStartStuck(lines.join('\n'), Number(count.trim()) || 0)
    },
    async stop() {
      stopped = true
      await logs?.stop()
      await tunnel.stop()
    },
  }
  const host: OpenclawHost = {
    mode: 'vm',
    version: opts.version,
    stateDir: `${OPENCLAW_ROOT}/state`,
    sandboxUser: { name: SANDBOX_USER, uid },
    gatewayUrl: `http://127.0.0.1:${localPort}`,
    async cli(args: string[], timeoutMs = 180_000): Promise<CliRun> {
      const r = await ssh.exec(`${COMPOSE} --profile cli run --rm --no-deps -T openclaw-cli ${args.map(shellQuote).join(' ')}`, { sudo: true, timeoutMs: timeoutMs * opts.timeScale })
      return { code: r.timedOut ? 124 : (r.code ?? 137), stdout: r.stdout, stderr: r.stderr, ms: r.ms }
    },
    async startGateway() {
      return gateway
    },
    proofPath: name => `${SANDBOX_HOME}/${name}`,
    async readSandboxFile(path): Promise<SandboxFile | null> {
      const r = await ssh.exec(`test -f ${shellQuote(path)} && stat -c %u ${shellQuote(path)} && cat ${shellQuote(path)}`, { sudo: true })
      if (r.code !== 0) return null
      const nl = r.stdout.indexOf('\n')
      return { uid: Number(r.stdout.slice(0, nl)), content: r.stdout.slice(nl + 1) }
    },
    async listeners(): Promise<Listener[]> {
      return []
    },
    async leftovers() {
      return { paths: [], outputs: [] }
    },
    async close() {
      await gateway.stop()
    },
  }
  const vm: VmView = {
    async sockets() {
      const r = await ssh.exec(`ss ${SS_ARGS.join(' ')}`, { sudo: true })
      if (r.code !== 0) throw new Error(`ss on the VM failed: ${r.stderr.trim()}`)
      return parseSs(r.stdout)
    },
    async published() {
      return (await ssh.exec(`docker ps --format '{{.Names}} {{.Ports}}'`, { sudo: true })).stdout.split('\n').filter(Boolean)
    },
    ownPid: null,
    gatewayPort: GATEWAY_PORT,
  }
  return { host, vm, gateway, tunnelPort: localPort }
}
