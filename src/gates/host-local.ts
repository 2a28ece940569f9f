// `clawbake verify --local`: openclaw@<pinned version> from the npm registry,
// run with Node 24 under a temp HOME (a fresh state dir every run), its
// sandbox a real sshd on 127.0.0.1 with the unprivileged `clawbake-sandbox`
// user, and nothing but the gate environment passed to it.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { ensureOpenclaw } from '../openclaw/runtime.ts'
import type { CliRun, Gateway, OpenclawHost, SandboxFile } from './host.ts'
import { layOutConfig } from './layout.ts'
import { listenersOf, processTree } from './listeners.ts'
import { startSshd } from './sshd.ts'
import { freeLoopbackPort } from '../loopback.ts'
import { run, startDaemon, type Daemon } from '../proc/run.ts'

export interface HostEnvironment {
  /** the values behind the shipped config's `${VAR}` references */
  vars: {
    OPENCLAW_GATEWAY_TOKEN: string
    AVOTS_BASE_URL: string
    AVOTS_API_KEY: string
    TELEGRAM_BOT_TOKEN: string
    OWNER_TELEGRAM_ID: string
  }
  apiRoot: string
  shippedConfig: string
  version: string
  /** where ensureOpenclaw looks (CLAWBAKE_CACHE, CLAWBAKE_NODE24) */
  env: Record<string, string | undefined>
}


export async function startLocalHost(he: HostEnvironment): Promise<OpenclawHost> {
  const rt = await ensureOpenclaw(he.version, he.env)
  const version = String((JSON.parse(readFileSync(join(dirname(rt.entry), 'package.json'), 'utf8')) as { version?: string }).version ?? rt.version)
  const sshd = await startSshd()
  const home = mkdtempSync(join(tmpdir(), 'clawbake-verify-'))
  const outputs: { name: string; text: string }[] = []
  let gateway: (Gateway & { pid: number }) | undefined
  try {
    const stateDir = join(home, '.openclaw')
    const keys = join(stateDir, 'sandbox')
    mkdirSync(keys, { recursive: true, mode: 0o700 })
    writeFileSync(join(keys, 'id_ed25519'), sshd.clientKey, { mode: 0o600 })
    writeFileSync(join(keys, 'known_hosts'), sshd.knownHosts, { mode: 0o600 })
    const port = await freeLoopbackPort()
    const config = layOutConfig(he.shippedConfig, {
      ownerId: he.vars.OWNER_TELEGRAM_ID,
      apiRoot: he.apiRoot,
      gatewayPort: port,
      bind: 'loopback',
      sandboxSsh: { target: sshd.target, identityFile: join(keys, 'id_ed25519'), knownHostsFile: join(keys, 'known_hosts'), workspaceRoot: sshd.sandboxRoot },
    })
    writeFileSync(join(stateDir, 'openclaw.json'), config, { mode: 0o600 })
    chmodSync(stateDir, 0o700)

    // Only what OpenClaw needs: no inherited tokens, proxies or CI secrets.
    const env: Record<string, string> = {
      PATH: `${dirname(rt.node)}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin`,
      HOME: home,
      TMPDIR: tmpdir(),
      LANG: 'C.UTF-8',
      TZ: 'UTC',
      NO_COLOR: '1',
      ...he.vars,
    }

    const cli = async (args: string[], timeoutMs = 180_000): Promise<CliRun> => {
      // killed with its process group on timeout, and nothing it started outlives it
      const r = await run(rt.node, [rt.entry, ...args], { cwd: home, env, timeoutMs }).catch((e: Error) => ({ code: 127, signal: null, stdout: '', stderr: e.message, ms: 0 }))
      outputs.push({ name: `openclaw ${args.join(' ')}`, text: r.stdout + r.stderr })
      return { code: r.code ?? (r.signal ? 128 : 1), stdout: r.stdout, stderr: r.stderr, ms: r.ms }
    }

    const host: OpenclawHost = {
      mode: 'local',
      version,
      stateDir,
      sandboxUser: { name: sshd.user.name, uid: sshd.user.uid },
      gatewayUrl: `http://127.0.0.1:${port}`,
      cli,
      async startGateway() {
        if (gateway && !gateway.exited()) return gateway
        // --verbose: its refusals become visible (stranger-refused), and no-secret-left searches the chattiest logs
        const d: Daemon = startDaemon(rt.node, [rt.entry, 'gateway', 'run', '--verbose'], { cwd: home, env })
        outputs.push({ name: 'openclaw gateway run', get text() { return d.output() } })
        gateway = {
          pid: d.pid,
          output: () => d.output(),
          exited: () => !d.running(),
          // SIGTERM drains for minutes by default; give it a moment, then end the group.
          stop: () => d.stop(3000),
        }
        return gateway
      },
      proofPath: name => join(sshd.sandboxRoot, name),
      async readSandboxFile(path: string): Promise<SandboxFile | null> {
        if (!existsSync(path)) return null
        const st = statSync(path)
        if (!st.isFile()) return null
        return { uid: st.uid, content: readFileSync(path, 'utf8') }
      },
      async listeners() {
        if (!gateway || gateway.exited()) return []
        return listenersOf(processTree(gateway.pid))
      },
      async leftovers() {
        // OpenClaw logs to /tmp/openclaw/openclaw-<date>.log whatever HOME is.
        const paths = [home, sshd.sandboxRoot]
        const shared = '/tmp/openclaw'
        if (existsSync(shared)) paths.push(shared)
        return { paths, outputs: outputs.slice() }
      },
      async close() {
        await gateway?.stop()
        await sshd.stop()
        rmSync(home, { recursive: true, force: true })
      },
    }
    return host
  } catch (e) {
    await gateway?.stop()
    await sshd.stop()
    rmSync(home, { recursive: true, force: true })
    throw e
  }
}
