// The one process runner: every external process clawbake starts (packer,
// qemu, qemu-img, skopeo, umoci, mmdebstrap, ssh, ssh-keygen, cloud-init,
// shellcheck, the OpenClaw CLI, docker-registry, ...) goes through here, on
// zx's `$`. One place for the things every caller needs and none should
// hand-roll: no shell interpolation (arguments are quoted by zx), a timeout
// that kills the whole process tree, kill on abort, output captured as text,
// and every captured or streamed line masked before anyone sees it.
// zx/core, not zx: under tap's @tapjs/processinfo loader (also inherited by every child node via NODE_OPTIONS)
// the 'zx' entry's ESM wrapper over its CJS re-exports comes out with `$` undefined; zx/core's does not.
// A static import, so esbuild's bundles (the CLI, the VM gate suite) carry zx inside.
import { $, type ProcessPromise } from 'zx/core'
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
  /** the error when the program is not installed (default: `env.program-missing`, naming it) */
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

function cleanEnv(env: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v
  return out
}

function lines(onLine: ((line: string) => void) | undefined): { push(chunk: string): void; end(): void } {
  let buf = ''
  return {
    push(chunk) {
      if (!onLine) return
      buf += chunk
      let i: number
      while ((i = buf.indexOf('\n')) >= 0) {
        onLine(buf.slice(0, i).replace(/\r$/, ''))
        buf = buf.slice(i + 1)
      }
    },
    end() {
      if (onLine && buf) onLine(buf)
      buf = ''
    },
  }
}

function spawnZx(cmd: string, args: string[], opts: RunOptions): ProcessPromise {
  const shell = $({
    nothrow: true,
    quiet: true,
    verbose: false,
    // its own process group, so a kill reaches everything it started (packer's qemu)
    detached: true,
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
    env: cleanEnv(opts.env ?? process.env),
    // stdin: the input, or nothing (a child waiting on an open stdin would hang)
    ...(opts.input !== undefined ? { input: opts.input } : { stdio: ['ignore', 'pipe', 'pipe'] as const }),
  })
  return shell`${cmd} ${args}`
}

/** Signal the process group of a child started by spawnZx (packer and the qemu it started, bash and its program). */
function killTree(p: ProcessPromise, sig: NodeJS.Signals): void {
  const pid = p.child?.pid
  if (!pid) return
  try {
    process.kill(-pid, sig)
  } catch {
    try { process.kill(pid, sig) } catch { /* already gone */ }
  }
}

/** After the leader exited: SIGKILL what is left of its process group (never the bare PID, which may be reused by now). */
function reapGroup(p: ProcessPromise): void {
  const pid = p.child?.pid
  if (!pid) return
  try { process.kill(-pid, 'SIGKILL') } catch { /* nothing left */ }
}

/** `cmd args...`; never throws for a non-zero exit (read `code`), only when the program cannot be started. */
export async function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const masker = opts.masker ?? noMask
  const command = masker.mask([cmd, ...args].map(a => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' '))
  const t0 = performance.now()
  const p = spawnZx(cmd, args, opts)
  let timedOut = false
  const kill = () => killTree(p, 'SIGKILL')
  const timer = opts.timeoutMs ? setTimeout(() => { timedOut = true; kill() }, opts.timeoutMs) : null
  let graceTimer: NodeJS.Timeout | null = null
  const onAbort = () => {
    if (!opts.abortWith) return kill()
    killTree(p, opts.abortWith)
    graceTimer = setTimeout(kill, opts.abortGraceMs ?? 30_000)
  }
  opts.signal?.addEventListener('abort', onAbort, { once: true })
  if (opts.signal?.aborted) onAbort()
  const out = lines(opts.onLine && (l => opts.onLine?.(masker.mask(l), 'stdout')))
  const err = lines(opts.onLine && (l => opts.onLine?.(masker.mask(l), 'stderr')))
  p.stdout.on('data', (d: Buffer) => out.push(String(d)))
  p.stderr.on('data', (d: Buffer) => err.push(String(d)))
  try {
    const o = await p
    out.end()
    err.end()
    // bash (zx's shell) says so with exit 127 when the program is not there
    if (o.exitCode === 127 && /^\S*bash: (line \d+: )?\S+: (command not found|No such file or directory)$/m.test(o.stderr)) {
      throw envError(opts.ifMissing?.message ?? `cannot run ${cmd}: not installed or not on PATH`, { field: cmd, rule: opts.ifMissing?.rule ?? 'env.program-missing' })
    }
    return { code: o.exitCode, signal: o.signal, stdout: masker.mask(o.stdout), stderr: masker.mask(o.stderr), ms: Math.round(performance.now() - t0), timedOut, command }
  } finally {
    if (!opts.keepStragglers) reapGroup(p)
    if (timer) clearTimeout(timer)
    if (graceTimer) clearTimeout(graceTimer)
    opts.signal?.removeEventListener('abort', onAbort)
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

/** A long-running process (a registry, a VM): started now, stopped by its PID, its output kept. */
export function startDaemon(cmd: string, args: string[], opts: Omit<RunOptions, 'input' | 'timeoutMs'> = {}): Daemon {
  const masker = opts.masker ?? noMask
  const p = spawnZx(cmd, args, opts)
  let text = ''
  let alive = true
  const out = lines(opts.onLine && (l => opts.onLine?.(masker.mask(l), 'stdout')))
  const err = lines(opts.onLine && (l => opts.onLine?.(masker.mask(l), 'stderr')))
  p.stdout.on('data', (d: Buffer) => { text += String(d); out.push(String(d)) })
  p.stderr.on('data', (d: Buffer) => { text += String(d); err.push(String(d)) })
  const exited = p.then(o => { alive = false; out.end(); err.end(); return o.exitCode }, () => { alive = false; return null })
  const onAbort = () => killTree(p, 'SIGKILL')
  opts.signal?.addEventListener('abort', onAbort, { once: true })
  const pid = p.pid ?? p.child?.pid ?? -1
  return {
    pid,
    output: () => masker.mask(text),
    exited,
    running: () => alive,
    async stop(graceMs = 5000) {
      opts.signal?.removeEventListener('abort', onAbort)
      if (!alive) return
      killTree(p, 'SIGTERM')
      const killer = setTimeout(() => killTree(p, 'SIGKILL'), graceMs)
      await exited
      clearTimeout(killer)
      if (!opts.keepStragglers) reapGroup(p)
    },
  }
}
