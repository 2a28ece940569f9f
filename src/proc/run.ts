// The one process runner: every external process clawbake starts (packer,
// qemu, qemu-img, skopeo, umoci, mmdebstrap, ssh, ssh-keygen, cloud-init,
// shellcheck, the OpenClaw CLI, docker-registry, ...) goes through here, on
// zx's `$`: arguments are an array that zx quotes (never a shell string),
// `nothrow` makes an exit code a result, `quiet` keeps output off the
// terminal, `detached` gives each run its own process group, `input` feeds
// stdin. What is done here, once:
// - the program is looked up with zx's `which` before anything starts, so a
//   missing one is an error naming it and its Debian package;
// - a timeout or an abort signals the run's whole process group at once,
//   `kill(-pgid)`. Not zx's `timeout`/`kill`: those walk the tree with `ps`
//   and signal the children first, so a shell waiting on a child sees it die
//   and goes on (`wait` returns 0) before its own signal arrives, and a timed-
//   out script can exit 0 (test/proc/run.test.ts pins this);
// - on abort the caller's signal first (packer: SIGINT, so it stops its VM),
//   SIGKILL after a grace time; after the run, what is left of its group;
// - output split into lines (Node's readline: zx iterates stdout only), and
//   every captured or streamed line masked.
// zx/core, not zx: under tap's @tapjs/processinfo loader (also inherited by every child node via NODE_OPTIONS)
// the 'zx' entry's ESM wrapper over its CJS re-exports comes out with `$` undefined; zx/core's does not.
// A static import, so esbuild's bundles (the CLI, the VM gate suite) carry zx inside.
import { isAbsolute, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import type { Readable } from 'node:stream'
import { $, which as zxWhich, type ProcessPromise } from 'zx/core'
import { envError } from '../errors.ts'

export interface Mask { mask(text: string): string }

export interface RunOptions {
  cwd?: string
  env?: Record<string, string | undefined>
  /** written to the process's stdin, then closed */
  input?: string | Buffer
  /** kill the process tree (SIGKILL) after this long; the result says timedOut */
  timeoutMs?: number
  /** kill the process tree when this aborts (Ctrl-C, a stage timeout) */
  signal?: AbortSignal
  /** on abort, first this signal to the process group (packer: SIGINT, so it stops its VM and cleans up), SIGKILL after abortGraceMs */
  abortWith?: NodeJS.Signals
  abortGraceMs?: number
  /** applied to every captured and streamed line */
  masker?: Mask
  /** each complete output line, masked, as it arrives */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void
  /**
   * leave whatever the process started in its process group running after it
   * exited (default: SIGKILL them, so that nothing a run started outlives it)
   */
  keepStragglers?: boolean
  /** the error when the program is not installed (default: `env.program-missing`, naming it and its Debian package) */
  ifMissing?: { message: string; rule: string }
}

export interface RunResult {
  /** exit code; null when it was killed by a signal */
  code: number | null
  signal: string | null
  stdout: string
  stderr: string
  ms: number
  timedOut: boolean
  /** the command as a person would type it (masked) */
  command: string
}

const noMask: Mask = { mask: s => s }

/** The Debian package of each program clawbake runs (`npm run setup` installs them), for the error when one is missing. */
const DEBIAN_PACKAGE: Record<string, string> = {
  'packer': 'packer',
  'qemu-system-x86_64': 'qemu-system-x86',
  'qemu-img': 'qemu-utils',
  'skopeo': 'skopeo',
  'umoci': 'umoci',
  'mmdebstrap': 'mmdebstrap',
  'ssh': 'openssh-client',
  'ssh-keygen': 'openssh-client',
  'ssh-keyscan': 'openssh-client',
  'scp': 'openssh-client',
  'sshd': 'openssh-server',
  'cloud-init': 'cloud-init',
  'shellcheck': 'shellcheck',
  'zerofree': 'zerofree',
  'xorriso': 'xorriso',
  'socat': 'socat',
  'openssl': 'openssl',
  'htpasswd': 'apache2-utils',
  'mkfs.ext4': 'e2fsprogs',
  'e2label': 'e2fsprogs',
  'losetup': 'mount',
  'sfdisk': 'fdisk',
  'docker-registry': 'docker-registry',
  'nft': 'nftables',
  'dnsmasq': 'dnsmasq-base',
  'ip': 'iproute2',
}

/** The program `name` resolves to on `env`'s PATH (a name with a slash: that file, from `cwd`), or null. */
export function which(name: string, env: Record<string, string | undefined> = process.env, cwd?: string): string | null {
  if (name.includes('/')) return zxWhich.sync(isAbsolute(name) || !cwd ? name : resolve(cwd, name), { nothrow: true }) ?? null
  // an empty PATH finds nothing (zx's which would fall back to this process's PATH)
  return env.PATH ? zxWhich.sync(name, { path: env.PATH, nothrow: true }) ?? null : null
}

/** The Debian package that provides `program` (a name or a path), when clawbake knows it. */
export function debianPackageOf(program: string): string | undefined {
  return DEBIAN_PACKAGE[program.split('/').pop() ?? program]
}

function missing(cmd: string, opts: RunOptions): Error {
  if (opts.ifMissing) return envError(opts.ifMissing.message, { field: cmd, rule: opts.ifMissing.rule })
  const pkg = debianPackageOf(cmd)
  return envError(`cannot run ${cmd}: not installed or not on PATH${pkg ? ` (Debian package ${pkg}; \`npm run setup\` installs it)` : ''}`, { field: cmd, rule: 'env.program-missing' })
}

function cleanEnv(env: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v
  return out
}

function spawnZx(cmd: string, args: string[], opts: RunOptions): ProcessPromise {
  const env = opts.env ?? process.env
  if (!which(cmd, env, opts.cwd)) throw missing(cmd, opts)
  return $({
    nothrow: true,
    quiet: true,
    verbose: false,
    // its own process group, so a kill reaches everything it started (packer's qemu)
    detached: true,
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
    env: cleanEnv(env),
    // stdin: the input, or nothing (a child waiting on an open stdin would hang)
    ...(opts.input !== undefined ? { input: opts.input } : { stdio: ['ignore', 'pipe', 'pipe'] as const }),
  })`${cmd} ${args}`
}

/** Signal the run's process group, all at once (the program and whatever it started: packer's qemu, a shell's children). */
function signalGroup(p: ProcessPromise, sig: NodeJS.Signals): void {
  const pid = p.child?.pid
  if (!pid || p.stage !== 'running') return
  try {
    process.kill(-pid, sig)
  } catch {
    try { process.kill(pid, sig) } catch { /* already gone */ }
  }
}

/** After the leader exited: SIGKILL what is left of its process group (never the bare PID, which may be reused by now). */
function reapGroup(pid: number | undefined): void {
  if (!pid) return
  try { process.kill(-pid, 'SIGKILL') } catch { /* nothing left */ }
}

/** Each line of a stream, masked, to `onLine` (no-op without it). */
function eachLine(stream: Readable, which: 'stdout' | 'stderr', opts: RunOptions, masker: Mask): Promise<void> {
  if (!opts.onLine) return Promise.resolve()
  const rl = createInterface({ input: stream, crlfDelay: Infinity })
  rl.on('line', l => opts.onLine?.(masker.mask(l), which))
  return new Promise(res => rl.once('close', () => res()))
}

/** Timeout and abort of a started run: SIGKILL to its group when the time is up; on abort the caller's signal, SIGKILL after the grace time. */
function stopper(p: ProcessPromise, opts: RunOptions): { timedOut(): boolean; detach(): void } {
  let timedOut = false
  const timer = opts.timeoutMs ? setTimeout(() => { timedOut = true; signalGroup(p, 'SIGKILL') }, opts.timeoutMs) : null
  let grace: NodeJS.Timeout | null = null
  const onAbort = () => {
    signalGroup(p, opts.abortWith ?? 'SIGKILL')
    if (opts.abortWith) grace = setTimeout(() => signalGroup(p, 'SIGKILL'), opts.abortGraceMs ?? 30_000)
  }
  opts.signal?.addEventListener('abort', onAbort, { once: true })
  if (opts.signal?.aborted) onAbort()
  return {
    timedOut: () => timedOut,
    detach() {
      if (timer) clearTimeout(timer)
      if (grace) clearTimeout(grace)
      opts.signal?.removeEventListener('abort', onAbort)
    },
  }
}

/** `cmd args...`; never throws for a non-zero exit (read `code`), only when the program is not there. */
export async function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const masker = opts.masker ?? noMask
  const command = masker.mask([cmd, ...args].map(a => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' '))
  const t0 = performance.now()
  const p = spawnZx(cmd, args, opts)
  const pid = p.child?.pid
  const stop = stopper(p, opts)
  const streamed = Promise.all([eachLine(p.stdout, 'stdout', opts, masker), eachLine(p.stderr, 'stderr', opts, masker)])
  try {
    const o = await p
    await streamed
    return { code: o.exitCode, signal: o.signal, stdout: masker.mask(o.stdout), stderr: masker.mask(o.stderr), ms: Math.round(performance.now() - t0), timedOut: stop.timedOut(), command }
  } finally {
    if (!opts.keepStragglers) reapGroup(pid)
    stop.detach()
  }
}

/** The last `n` non-empty lines of a text, joined with ` | ` (for one-line error details). */
export function tail(text: string, n = 12): string {
  return text.split('\n').map(l => l.trim()).filter(Boolean).slice(-n).join(' | ')
}

/** Like run(), but a non-zero exit or a timeout is an error naming the command and the tail of its output. */
export async function runOk(cmd: string, args: string[], opts: RunOptions & { rule?: string; what?: string } = {}): Promise<RunResult> {
  const r = await run(cmd, args, opts)
  if (r.code !== 0 || r.timedOut) {
    const why = r.timedOut ? `timed out after ${Math.round((opts.timeoutMs ?? 0) / 1000)} s` : r.code === null ? `killed by ${r.signal}` : `exit ${r.code}`
    throw envError(`${opts.what ?? r.command} failed (${why}): ${tail(r.stderr + '\n' + r.stdout) || 'no output'}`, { field: cmd, rule: opts.rule ?? 'env.command-failed' })
  }
  return r
}

export interface Daemon {
  pid: number
  /** everything it printed so far (masked) */
  output(): string
  /** resolves with the exit code once it exits */
  exited: Promise<number | null>
  running(): boolean
  /** SIGTERM, then SIGKILL after graceMs; resolves once the process is gone */
  stop(graceMs?: number): Promise<void>
}

/** A long-running process (a registry, a VM, a test's server): started now, stopped by its PID, its output kept. */
export function startDaemon(cmd: string, args: string[], opts: Omit<RunOptions, 'input' | 'timeoutMs'> = {}): Daemon {
  const masker = opts.masker ?? noMask
  const p = spawnZx(cmd, args, opts)
  let text = ''
  let alive = true
  p.stdout.on('data', (d: Buffer) => { text += String(d) })
  p.stderr.on('data', (d: Buffer) => { text += String(d) })
  const streamed = Promise.all([eachLine(p.stdout, 'stdout', opts, masker), eachLine(p.stderr, 'stderr', opts, masker)])
  const exited = p.then(async o => { alive = false; await streamed; return o.exitCode }, () => { alive = false; return null })
  const stop = stopper(p, opts.signal ? { signal: opts.signal } : {})
  const pid = p.child?.pid ?? -1
  return {
    pid,
    output: () => masker.mask(text),
    exited,
    running: () => alive,
    async stop(graceMs = 5000) {
      stop.detach()
      if (!alive) return
      signalGroup(p, 'SIGTERM')
      const killer = setTimeout(() => signalGroup(p, 'SIGKILL'), graceMs)
      await exited
      clearTimeout(killer)
      if (!opts.keepStragglers) reapGroup(pid)
    },
  }
}
