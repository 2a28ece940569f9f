// `clawbake verify` inside the build VM: the same gates, against the stack as
// it ships. OpenClaw is the pinned image run by the SHIPPED compose file
// (/opt/openclaw/docker-compose.yml: its network, ports, users and limits,
// no override), brought up the way a client's first boot brings it up: the
// shipped first-boot.sh renders state/openclaw.json and state/.env from
// client values (here the gate run's test values), creates the sandbox
// account and its socket-activated sshd, and starts openclaw.service. The
// Bot API stand-in and the recording avots proxy listen on the compose
// network's gateway address, the one address of this VM the containers reach.
// Before no-secret-left searches what will be captured, everything first
// boot made is taken back (resetToImage), so the image is as it was baked.
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { envError } from '../errors.ts'
import { leaseStartStuck } from '../openclaw/lease.ts'
import { run, runOk, startDaemon, tail, type Daemon } from '../proc/run.ts'
import type { CliRun, Gateway, Listener, OpenclawHost, SandboxFile } from './host.ts'
import type { HostEnvironment } from './host-local.ts'
import { listenersOf, processTree } from './listeners.ts'

export const OPENCLAW_ROOT = '/opt/openclaw'
export const SANDBOX_USER = 'sandbox'
export const SANDBOX_HOME = '/srv/openclaw-sandbox'
export const SANDBOX_ETC = '/etc/openclaw-sandbox'
const GATEWAY_PORT = 18789
const PROJECT = 'openclaw'
/** What the VM's disk will carry into the image: searched by no-secret-left. */
export const CAPTURED_ROOTS = ['/etc', '/home', '/opt', '/root', '/srv', '/var/lib/docker/volumes', '/var/lib/docker/containers', '/var/lib/cloud', '/var/log', '/var/tmp', '/tmp']

export interface ComposeTarget {
  root: string
  composeFile: string
}

export function composeTarget(env: Record<string, string | undefined>): ComposeTarget {
  const root = env.CLAWBAKE_OPENCLAW_ROOT ?? OPENCLAW_ROOT
  return { root, composeFile: env.CLAWBAKE_COMPOSE_FILE ?? join(root, 'docker-compose.yml') }
}

function composeArgs(t: ComposeTarget, args: string[]): string[] {
  return ['compose', '--project-directory', t.root, '-f', t.composeFile, ...args]
}

/**
 * Create the shipped project's network (and its containers, not started) and
 * return the network's gateway address: the stand-ins listen there before the
 * gateway starts polling them.
 */
export async function composeNetworkAddress(t: ComposeTarget): Promise<string> {
  const v = await run('docker', ['compose', 'version', '--short'])
  if (v.code !== 0) throw envError('verify (vm mode) drives OpenClaw through `docker compose`, which is not available here; use --local on a development machine', { rule: 'env.docker-compose-missing' })
  if (!existsSync(t.composeFile)) throw envError(`${t.composeFile} is missing: the shipped files are not laid down`, { file: t.composeFile, rule: 'gates.compose-missing' })
  await runOk('docker', composeArgs(t, ['create', '--pull', 'never']), { rule: 'gates.compose-create', what: 'docker compose create', timeoutMs: 300_000 })
  const ids = (await runOk('docker', ['network', 'ls', '-q', '--filter', `label=com.docker.compose.project=${PROJECT}`])).stdout.trim().split('\n').filter(Boolean)
  if (ids.length !== 1) throw envError(`expected one network of compose project ${PROJECT}, found ${ids.length}`, { file: t.composeFile, field: '/networks', rule: 'gates.compose-network' })
  const gw = (await runOk('docker', ['network', 'inspect', '-f', '{{range .IPAM.Config}}{{.Gateway}}{{end}}', ids[0] as string])).stdout.trim()
  if (!/^\d+\.\d+\.\d+\.\d+$/.test(gw)) throw envError(`compose network ${ids[0]} has no IPv4 gateway address (${gw || 'none'})`, { file: t.composeFile, field: '/networks', rule: 'gates.compose-network' })
  return gw
}

/** The container of a service of the shipped project, or null. */
async function containerOf(t: ComposeTarget, service: string): Promise<string | null> {
  const r = await run('docker', composeArgs(t, ['ps', '-a', '-q', service]))
  return r.stdout.trim().split('\n').filter(Boolean)[0] ?? null
}

/** Status, exit code and restart count of the gateway container, plus the tail of its log: a failed start's evidence. */
export async function gatewayEvidence(t: ComposeTarget): Promise<string> {
  const id = await containerOf(t, 'openclaw-gateway')
  const unit = await run('systemctl', ['status', '--no-pager', '--lines', '0', 'openclaw.service'])
  const unitLine = `openclaw.service: ${tail(unit.stdout, 3) || 'unknown'}`
  if (!id) return `no openclaw-gateway container; ${unitLine}; journal: ${tail((await run('journalctl', ['-u', 'openclaw.service', '--no-pager', '-n', '20'])).stdout, 8)}`
  const st = (await run('docker', ['inspect', '-f', '{{.State.Status}} exit={{.State.ExitCode}} restarts={{.RestartCount}} health={{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}} oom={{.State.OOMKilled}}', id])).stdout.trim()
  const logs = await run('docker', ['logs', '--tail', '30', id])
  return `container ${id.slice(0, 12)} ${st}; ${unitLine}; logs: ${tail(logs.stdout + '\n' + logs.stderr, 12).slice(-2000)}`
}

/** Why the gateway's start cannot succeed (OpenClaw's lost lease start, then restarts), or null. */
async function gatewayStartStuck(t: ComposeTarget): Promise<string | null> {
  const id = await containerOf(t, 'openclaw-gateway')
  if (!id) return null
  const logs = await run('docker', ['logs', id])
  return leaseStartStuck(logs.stdout + '\n' + logs.stderr, await restartCountOf(id))
}

async function restartCount(t: ComposeTarget): Promise<number> {
  const id = await containerOf(t, 'openclaw-gateway')
  return id ? restartCountOf(id) : 0
}

async function restartCountOf(id: string): Promise<number> {
  return Number((await run('docker', ['inspect', '-f', '{{.RestartCount}}', id])).stdout.trim()) || 0
}

/**
 * Take back everything first boot made: the stack, the state it rendered
 * (config, .env, sandbox keys), the sandbox account, its sshd config and
 * units. Leaves the image as it was laid down by the provisioning scripts.
 */
export async function resetToImage(t: ComposeTarget): Promise<string[]> {
  const done: string[] = []
  await run('systemctl', ['stop', 'openclaw.service'], { timeoutMs: 180_000 })
  await run('docker', composeArgs(t, ['--profile', 'cli', 'down', '--volumes', '--remove-orphans', '--timeout', '10']), { timeoutMs: 180_000 })
  await run('systemctl', ['disable', '--now', 'openclaw-sandbox.socket', 'openclaw-forget-user-data.service'])
  for (const u of ['openclaw-sandbox.socket', 'openclaw-sandbox@.service', 'openclaw-forget-user-data.service']) rmSync(join('/etc/systemd/system', u), { force: true })
  // the egress allowlist first boot installed: the drop-ins that make Docker require it go first,
  // so that stopping it does not stop Docker; then its units, its table and its rendered files
  for (const u of ['docker.service', 'openclaw.service', 'openclaw-sandbox.socket']) rmSync(join('/etc/systemd/system', `${u}.d`, 'clawbake-egress.conf'), { force: true })
  await run('systemctl', ['daemon-reload'])
  await run('systemctl', ['disable', '--now', 'clawbake-egress-dns.service', 'clawbake-egress.service'])
  for (const u of ['clawbake-egress.service', 'clawbake-egress-dns.service']) rmSync(join('/etc/systemd/system', u), { force: true })
  await run('nft', ['delete', 'table', 'inet', 'clawbake_egress'])
  rmSync('/etc/clawbake/egress', { recursive: true, force: true })
  done.push('egress allowlist')
  await run('systemctl', ['daemon-reload'])
  if ((await run('id', ['-u', SANDBOX_USER])).code === 0) {
    await run('pkill', ['-KILL', '-u', SANDBOX_USER])
    await runOk('userdel', ['--force', '--remove', SANDBOX_USER], { rule: 'gates.reset' })
    done.push(`user ${SANDBOX_USER}`)
  }
  rmSync(SANDBOX_HOME, { recursive: true, force: true })
  rmSync(SANDBOX_ETC, { recursive: true, force: true })
  // everything first boot wrote; V8's compile cache of the image's code stays (bytecode, no data: scrub.sh keeps it too)
  await run('find', [join(t.root, 'state'), '-mindepth', '1', '-maxdepth', '1', '!', '-name', '.compile-cache', '-exec', 'rm', '-rf', '{}', '+'])
  done.push('state/', SANDBOX_ETC)
  return done
}

export async function startComposeHost(he: HostEnvironment, opts: { target: ComposeTarget; timeScale?: number }): Promise<OpenclawHost> {
  const t = opts.target
  const scale = opts.timeScale ?? 1
  const firstBoot = join(t.root, 'first-boot.sh')
  if (!existsSync(firstBoot)) throw envError(`${firstBoot} is missing: the shipped files are not laid down`, { file: firstBoot, rule: 'gates.first-boot-missing' })
  const outputs: { name: string; text: string }[] = []
  const work = mkdtempSync('/run/clawbake-gates-')
  chmodSync(work, 0o700)
  const cleanup = () => rmSync(work, { recursive: true, force: true })
  try {
    // first boot, exactly as cloud-init runs it on a client's VM, with the gate run's values
    const clientEnv = join(work, 'client.env')
    writeFileSync(clientEnv, [
      `OWNER_TELEGRAM_ID=${he.vars.OWNER_TELEGRAM_ID}`,
      `AVOTS_API_KEY=${he.vars.AVOTS_API_KEY}`,
      `AVOTS_BASE_URL=${he.vars.AVOTS_BASE_URL}`,
      `TELEGRAM_BOT_TOKEN=${he.vars.TELEGRAM_BOT_TOKEN}`,
      `TELEGRAM_API_ROOT=${he.apiRoot}`,
      `OPENCLAW_GATEWAY_TOKEN=${he.vars.OPENCLAW_GATEWAY_TOKEN}`,
      '',
    ].join('\n'), { mode: 0o600 })
    const fb = await run('bash', [firstBoot, clientEnv], { env: { ...process.env, OPENCLAW_ROOT: t.root }, timeoutMs: 600_000 * scale })
    outputs.push({ name: 'first-boot.sh', text: fb.stdout + fb.stderr })
    if (fb.code !== 0) {
      throw envError(`first-boot.sh failed (${fb.timedOut ? 'timed out' : `exit ${fb.code}`}): ${tail(fb.stderr + '\n' + fb.stdout, 8)}; ${await gatewayEvidence(t)}`, { file: firstBoot, rule: 'gates.first-boot' })
    }
    const uid = Number((await runOk('id', ['-u', SANDBOX_USER], { rule: 'gates.sandbox-user' })).stdout.trim())

    const cli = async (args: string[], timeoutMs = 180_000): Promise<CliRun> => {
      const r = await run('docker', composeArgs(t, ['--profile', 'cli', 'run', '--rm', '--no-deps', '-T', 'openclaw-cli', ...args]), { timeoutMs: timeoutMs * scale })
      outputs.push({ name: `openclaw ${args.join(' ')}`, text: r.stdout + r.stderr })
      return { code: r.timedOut ? 124 : (r.code ?? 137), stdout: r.stdout, stderr: r.stderr, ms: r.ms }
    }

    let stopped = false
    // the gateway's log, followed from first boot's start of it: stranger-refused reads the gateway's decision there
    let logs: Daemon | null = null
    const gateway: Gateway & { evidence(): Promise<string>; restarts(): Promise<number> } = {
      output: () => logs?.output() ?? '',
      // under `restart: unless-stopped` a crashing gateway is restarted, not exited: readiness times out and evidence() tells why
      exited: () => stopped,
      evidence: () => gatewayEvidence(t),
      restarts: () => restartCount(t),
      startStuck: () => gatewayStartStuck(t),
      async stop() {
        if (stopped) return
        const id = await containerOf(t, 'openclaw-gateway')
        if (id) {
          const logs = await run('docker', ['logs', id])
          outputs.push({ name: 'docker logs openclaw-gateway', text: logs.stdout + logs.stderr })
        }
        await run('systemctl', ['stop', 'openclaw.service'], { timeoutMs: 180_000 })
        await logs?.stop()
        stopped = true
      },
    }

    const host: OpenclawHost = {
      mode: 'vm',
      version: he.version,
      stateDir: join(t.root, 'state'),
      sandboxUser: { name: SANDBOX_USER, uid },
      gatewayUrl: `http://127.0.0.1:${GATEWAY_PORT}`,
      cli,
      async startGateway() {
        // first boot started openclaw.service; the gateway is the shipped service's container
        const id = await containerOf(t, 'openclaw-gateway')
        if (id && !logs) logs = startDaemon('docker', ['logs', '--follow', id])
        return gateway
      },
      proofPath: name => join(SANDBOX_HOME, name),
      async readSandboxFile(path): Promise<SandboxFile | null> {
        if (!existsSync(path) || !statSync(path).isFile()) return null
        return { uid: statSync(path).uid, content: readFileSync(path, 'utf8') }
      },
      async listeners(): Promise<Listener[]> {
        const id = await containerOf(t, 'openclaw-gateway')
        if (!id) return []
        const pid = Number((await run('docker', ['inspect', '-f', '{{.State.Pid}}', id])).stdout.trim())
        return pid > 0 ? listenersOf(processTree(pid)) : []
      },
      async leftovers() {
        // the image as it will be captured: first boot's state taken back
        await gateway.stop()
        const reset = await resetToImage(t)
        outputs.push({ name: 'reset', text: reset.join(', ') })
        return { paths: CAPTURED_ROOTS.filter(p => existsSync(p)), outputs: outputs.slice() }
      },
      async close() {
        await gateway.stop().catch(() => {})
        await resetToImage(t).catch(() => [])
        cleanup()
      },
    }
    return host
  } catch (e) {
    await resetToImage(t).catch(() => [])
    cleanup()
    throw e
  }
}
