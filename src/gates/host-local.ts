// `clawbake verify --local`: openclaw@<pinned version> from the npm registry,
// run with Node 24 under a temp HOME (a fresh state dir every run), its
// sandbox a real sshd on 127.0.0.1 with the unprivileged `clawbake-sandbox`
// user, and nothing but the gate environment passed to it.
import { spawn } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { ensureOpenclaw } from '../openclaw/runtime.ts'
import type { CliRun, Gateway, OpenclawHost, SandboxFile } from './host.ts'
import { layOutConfig } from './layout.ts'
import { listenersOf, processTree } from './listeners.ts'
import { startSshd } from './sshd.ts'
import { freeLoopbackPort } from '../loopback.ts'

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


function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (!pid) return
  try { process.kill(-pid, signal) } catch { /* gone */ }
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
      const t0 = performance.now()
      const child = spawn(rt.node, [rt.entry, ...args], { cwd: home, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', d => { stdout += String(d) })
      child.stderr.on('data', d => { stderr += String(d) })
      const timer = setTimeout(() => killGroup(child.pid, 'SIGKILL'), timeoutMs)
      const code = await new Promise<number>(resolve => {
        child.once('error', () => resolve(127))
        child.once('close', (c, sig) => resolve(c ?? (sig ? 128 : 1)))
      })
      clearTimeout(timer)
      killGroup(child.pid, 'SIGKILL') // nothing it started outlives it
      outputs.push({ name: `openclaw ${args.join(' ')}`, text: stdout + stderr })
      return { code, stdout, stderr, ms: Math.round(performance.now() - t0) }
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
        const child = spawn(rt.node, [rt.entry, 'gateway', 'run', '--verbose'], { cwd: home, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
        const record = { name: 'openclaw gateway run', text: '' }
        outputs.push(record)
        child.stdout.on('data', d => { record.text += String(d) })
        child.stderr.on('data', d => { record.text += String(d) })
        let done = false
        const exited = new Promise<void>(resolve => child.once('close', () => { done = true; resolve() }))
        child.once('error', () => { done = true })
        gateway = {
          pid: child.pid ?? 0,
          output: () => record.text,
          exited: () => done,
          async stop() {
            if (done) return
            // SIGTERM drains for minutes by default; give it a moment, then end the group.
            killGroup(child.pid, 'SIGTERM')
            const t = setTimeout(() => killGroup(child.pid, 'SIGKILL'), 3000)
            await exited
            clearTimeout(t)
            killGroup(child.pid, 'SIGKILL')
          },
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
