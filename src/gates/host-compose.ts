// `clawbake verify` inside the build VM: the same gates, but OpenClaw is the
// pinned image driven through `docker compose` (services `openclaw-gateway`
// and `openclaw-cli` of the shipped compose file). A per-run override file
// points the services at a fresh state dir, passes the gate's test secrets by
// name from this process's environment (never in a file), and puts them on
// the host network so they reach the loopback stand-ins and the loopback
// sshd sandbox, exactly like `--local`. The compose project is removed (down
// -v) before no-secret-left searches the disk that will be captured.
// Not exercised on the development machine (no Docker daemon there).
import { execFile, spawn } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { envError } from '../errors.ts'
import { projectPaths } from '../paths.ts'
import type { CliRun, Gateway, OpenclawHost, SandboxFile } from './host.ts'
import type { HostEnvironment } from './host-local.ts'
import { layOutConfig } from './layout.ts'
import { listenersOf, processTree } from './listeners.ts'
import { startSshd } from './sshd.ts'

const run = promisify(execFile)
const GATEWAY_PORT = 18789
/** What the VM's disk will carry into the image: searched by no-secret-left. */
export const CAPTURED_ROOTS = ['/etc', '/home', '/opt', '/root', '/srv', '/var/lib/docker/volumes', '/var/log', '/var/tmp', '/tmp']

export async function startComposeHost(he: HostEnvironment, opts: { root: string }): Promise<OpenclawHost> {
  const composeFile = he.env.CLAWBAKE_COMPOSE_FILE ?? (existsSync('/opt/openclaw/docker-compose.yml') ? '/opt/openclaw/docker-compose.yml' : projectPaths(opts.root).compose)
  try {
    await run('docker', ['compose', 'version'])
  } catch (e) {
    throw envError('verify (vm mode) drives OpenClaw through `docker compose`, which is not available here; use --local on a development machine', { rule: 'env.docker-compose-missing' }, e)
  }
  const sshd = await startSshd()
  const dir = mkdtempSync('/var/tmp/clawbake-verify-')
  const project = `clawbake-verify-${Date.now().toString(36)}`
  const stateDir = join(dir, 'state')
  const outputs: { name: string; text: string }[] = []
  const compose = (args: string[]) => ['compose', '-p', project, '-f', composeFile, '-f', join(dir, 'gates.override.yml'), ...args]
  const env = { ...process.env, ...he.vars }
  try {
    mkdirSync(join(stateDir, 'sandbox'), { recursive: true, mode: 0o700 })
    writeFileSync(join(stateDir, 'sandbox', 'id_ed25519'), sshd.clientKey, { mode: 0o600 })
    writeFileSync(join(stateDir, 'sandbox', 'known_hosts'), sshd.knownHosts, { mode: 0o600 })
    const inContainer = '/home/node/.openclaw'
    writeFileSync(join(stateDir, 'openclaw.json'), layOutConfig(he.shippedConfig, {
      ownerId: he.vars.OWNER_TELEGRAM_ID,
      apiRoot: he.apiRoot,
      sandboxSsh: { target: sshd.target, identityFile: `${inContainer}/sandbox/id_ed25519`, knownHostsFile: `${inContainer}/sandbox/known_hosts`, workspaceRoot: sshd.sandboxRoot },
    }), { mode: 0o600 })
    await run('chown', ['-R', '1000:1000', stateDir])
    chmodSync(stateDir, 0o700)
    const names = Object.keys(he.vars)
    const service = (extra: string) => [
      '    network_mode: host',
      '    volumes: !override',
      `      - ${stateDir}:${inContainer}:rw`,
      '    environment:',
      ...names.map(n => `      ${n}: \${${n}}`),
      extra,
    ].join('\n')
    writeFileSync(join(dir, 'gates.override.yml'), [
      '# written by clawbake verify for one gate run; removed with it',
      'services:',
      '  openclaw-gateway:',
      service('    ports: !reset []\n    extra_hosts: !reset []\n    networks: !reset []'),
      '  openclaw-cli:',
      service(''),
      '',
    ].join('\n'))

    let gatewayUp = false
    const host: OpenclawHost = {
      mode: 'vm',
      version: he.version,
      stateDir,
      sandboxUser: { name: sshd.user.name, uid: sshd.user.uid },
      gatewayUrl: `http://127.0.0.1:${GATEWAY_PORT}`,
      async cli(args, timeoutMs = 180_000): Promise<CliRun> {
        const t0 = performance.now()
        const child = spawn('docker', compose(['--profile', 'cli', 'run', '--rm', '-T', 'openclaw-cli', ...args]), { env, stdio: ['ignore', 'pipe', 'pipe'] })
        let stdout = ''
        let stderr = ''
        child.stdout.on('data', d => { stdout += String(d) })
        child.stderr.on('data', d => { stderr += String(d) })
        const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
        const code = await new Promise<number>(resolve => child.once('close', c => resolve(c ?? 1)))
        clearTimeout(timer)
        outputs.push({ name: `openclaw ${args.join(' ')}`, text: stdout + stderr })
        return { code, stdout, stderr, ms: Math.round(performance.now() - t0) }
      },
      async startGateway(): Promise<Gateway> {
        await run('docker', compose(['up', '-d', '--no-deps', 'openclaw-gateway']), { env })
        gatewayUp = true
        const logs = async () => (await run('docker', compose(['logs', '--no-color', 'openclaw-gateway']), { env, maxBuffer: 64 << 20 }).catch(() => ({ stdout: '' }))).stdout
        let last = ''
        return {
          output: () => last,
          exited: () => !gatewayUp,
          async stop() {
            if (!gatewayUp) return
            last = await logs()
            outputs.push({ name: 'docker compose logs openclaw-gateway', text: last })
            await run('docker', compose(['down', '-v', '--timeout', '3']), { env }).catch(() => {})
            gatewayUp = false
          },
        }
      },
      proofPath: name => join(sshd.sandboxRoot, name),
      async readSandboxFile(path): Promise<SandboxFile | null> {
        if (!existsSync(path) || !statSync(path).isFile()) return null
        return { uid: statSync(path).uid, content: readFileSync(path, 'utf8') }
      },
      async listeners() {
        const { stdout } = await run('docker', compose(['ps', '-q', 'openclaw-gateway']), { env })
        const ids = stdout.trim().split('\n').filter(Boolean)
        const pids: number[] = []
        for (const id of ids) {
          const pid = Number((await run('docker', ['inspect', '-f', '{{.State.Pid}}', id])).stdout.trim())
          if (pid > 0) pids.push(...processTree(pid))
        }
        return listenersOf(pids)
      },
      async leftovers() {
        return { paths: [...CAPTURED_ROOTS.filter(p => existsSync(p)), stateDir, sshd.sandboxRoot], outputs: outputs.slice() }
      },
      async close() {
        if (gatewayUp) await run('docker', compose(['down', '-v', '--timeout', '3']), { env }).catch(() => {})
        await sshd.stop()
        rmSync(dir, { recursive: true, force: true })
      },
    }
    return host
  } catch (e) {
    await sshd.stop()
    rmSync(dir, { recursive: true, force: true })
    throw e
  }
}
