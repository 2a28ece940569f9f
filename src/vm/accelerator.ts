// Which qemu accelerator actually runs a guest here. An openable /dev/kvm
// proves nothing: on a paravirtual nested KVM (PVM) stock kernels abort at
// once ("failed to set MSR 0x10a") or stop in "KVM internal error" with qemu
// left alive and paused, and Packer's qemu builder would pick kvm by itself and
// then wait out its ssh_timeout. So the probe boots a real kernel under
// `-accel kvm -cpu host` with no disk: KVM counts as usable only when the
// kernel got as far as panicking about the missing root file system and
// qemu then exited by itself (-no-reboot, panic=-1). Anything else is TCG,
// with the reason.
import { constants, accessSync, existsSync } from 'node:fs'
import { envError, usageError } from '../errors.ts'
import { run, tail } from '../proc/run.ts'

export type Accelerator = 'kvm' | 'tcg'

export interface AcceleratorChoice {
  accelerator: Accelerator
  /** one line: why this one, e.g. "kvm: guest kernel booted" or "kvm: failed to set MSR 0x10a" */
  why: string
  ms: number
}

export interface ChooseAcceleratorOptions {
  /** a bootable x86_64 kernel (bzImage), e.g. the Debian base's */
  kernel: string
  log?: (line: string) => void
  /** how long the KVM guest gets to reach its panic (default 25 s) */
  timeoutMs?: number
  /** where /dev/kvm is (tests) */
  kvmDevice?: string
  /** the qemu binary (default qemu-system-x86_64) */
  qemu?: string
}

/**
 * The qemu arguments that select an accelerator and a CPU model for it:
 * KVM passes the host's CPU through; TCG emulates `max` unless
 * CLAWBAKE_QEMU_CPU names another model (every vector extension the model
 * advertises, glibc and V8 use, and TCG emulates them in software).
 */
export function acceleratorArgs(a: Accelerator, env: Record<string, string | undefined> = process.env, clock: TcgClock = 'real'): string[] {
  if (a === 'kvm') return ['-accel', 'kvm', '-cpu', 'host']
  const cpu = env.CLAWBAKE_QEMU_CPU?.trim()
  const model = cpu && /^[A-Za-z0-9_.,+=-]+$/.test(cpu) ? cpu : 'max'
  // the instruction clock needs single-threaded TCG: both vCPUs share one host thread
  if (clock === 'instructions') return ['-accel', 'tcg,thread=single', '-icount', `shift=${ICOUNT_SHIFT},sleep=on`, '-cpu', model]
  return ['-accel', 'tcg,thread=multi', '-cpu', model]
}

/**
 * The guest's clocks under TCG. `real`: they follow the host's (a deadline
 * inside the guest is a fixed amount of host time, however slowly the
 * emulated CPU gets through the work). `instructions`: `-icount
 * shift=0,sleep=on`, one nanosecond of guest time per instruction executed
 * and real time while the guest idles, so a deadline inside the guest is a
 * fixed amount of work that no host load can make it miss. shift=0 is the
 * finest step (2^0 ns an instruction): a modern CPU retires about one
 * instruction a nanosecond, so guest time then runs close to what the
 * program would see on real hardware; a larger shift would make every
 * instruction look 2, 4, ... ns long, and the guest slower than real.
 */
export type TcgClock = 'real' | 'instructions'
export const TCG_CLOCKS: readonly TcgClock[] = ['real', 'instructions']
export const ICOUNT_SHIFT = 0

/**
 * Wall time under the instruction clock against real-time TCG, measured on a
 * 2-core machine of this project's kind: the same Debian 13 boot and OpenClaw
 * runs took 152 s against 91 s (1.67). Timeouts on the host that wait on such
 * a guest are multiplied by this.
 */
export const INSTRUCTION_CLOCK_WALL_RATIO = 1.7

export interface ClockChoice {
  clock: TcgClock
  why: string
  /** multiply host-side waits on the guest by this */
  ratio: number
}

/** CLAWBAKE_TCG_CLOCK, checked: real, instructions, or unset. */
export function tcgClockFromEnv(env: Record<string, string | undefined>): TcgClock | null {
  const v = env.CLAWBAKE_TCG_CLOCK
  if (v === undefined || v === '') return null
  if (!(TCG_CLOCKS as readonly string[]).includes(v)) throw usageError(`CLAWBAKE_TCG_CLOCK must be one of ${TCG_CLOCKS.join(', ')}, got ${JSON.stringify(v)}`, 'env.tcg-clock')
  return v as TcgClock
}

/**
 * The guest clock for this accelerator: under TCG the instruction clock when
 * the release has a fixed start-up deadline that a real-time guest misses
 * (`deadline`, read from the release's own files), real time otherwise;
 * CLAWBAKE_TCG_CLOCK forces one. KVM is never slowed.
 */
export function chooseClock(accel: Accelerator, env: Record<string, string | undefined>, deadline: { what: string } | null): ClockChoice {
  const forced = tcgClockFromEnv(env)
  if (accel === 'kvm') {
    if (forced === 'instructions') throw usageError('CLAWBAKE_TCG_CLOCK=instructions is refused under KVM: the instruction clock needs single-threaded software emulation and would only slow a real accelerator', 'env.tcg-clock')
    return { clock: 'real', why: 'kvm: the host\'s clock', ratio: 1 }
  }
  const ratio = (c: TcgClock) => (c === 'instructions' ? INSTRUCTION_CLOCK_WALL_RATIO : 1)
  if (forced) return { clock: forced, why: `CLAWBAKE_TCG_CLOCK=${forced}`, ratio: ratio(forced) }
  if (deadline) return { clock: 'instructions', why: `${deadline.what}, which a real-time TCG guest misses`, ratio: INSTRUCTION_CLOCK_WALL_RATIO }
  return { clock: 'real', why: 'no fixed start-up deadline in this release', ratio: 1 }
}

/** How much longer anything in the guest takes than with KVM: multiply guest timeouts by this. */
export function timeoutScale(a: Accelerator): number {
  return a === 'kvm' ? 1 : 15
}

/** The kernel reached the end of its boot: it looked for a root file system (there is none) and panicked. */
const BOOTED = /Kernel panic - not syncing|VFS: Unable to mount root fs|No working init found/
const STARTED = /Linux version \S+/
/** qemu's own words for a KVM that cannot run this guest, most telling first. */
const KVM_FAILURES: readonly RegExp[] = [
  /failed to set MSR 0x[0-9a-f]+/i,
  /KVM internal error\.?( Suberror: \d+)?/,
  /emulation failure/,
  /Could not access KVM kernel module: [^\n]*/,
  /failed to initialize kvm: [^\n]*/i,
  /KVM is not supported[^\n]*/i,
  /kvm: [^\n]*(error|fail)[^\n]*/i,
]

/** Boot `kernel` under KVM and say whether it ran; TCG otherwise. */
export async function chooseAccelerator(opts: ChooseAcceleratorOptions): Promise<AcceleratorChoice> {
  const t0 = performance.now()
  const ms = () => Math.round(performance.now() - t0)
  const log = opts.log ?? (() => {})
  const dev = opts.kvmDevice ?? '/dev/kvm'
  const timeoutMs = opts.timeoutMs ?? 25_000
  if (!existsSync(opts.kernel)) throw envError(`the probe kernel ${opts.kernel} does not exist`, { file: opts.kernel, rule: 'env.kernel-missing' })

  if (!existsSync(dev)) return { accelerator: 'tcg', why: `kvm: no ${dev}`, ms: ms() }
  try {
    accessSync(dev, constants.R_OK | constants.W_OK)
  } catch (e) {
    return { accelerator: 'tcg', why: `kvm: cannot open ${dev} (${(e as NodeJS.ErrnoException).code ?? String(e)})`, ms: ms() }
  }

  const args = [
    ...acceleratorArgs('kvm'),
    '-m', '256', '-smp', '1',
    '-nodefaults', '-no-user-config', '-display', 'none', '-nic', 'none',
    '-serial', 'stdio', '-monitor', 'none',
    '-kernel', opts.kernel,
    '-append', 'console=ttyS0 panic=-1',
    '-no-reboot',
  ]
  log(`accelerator probe: qemu-system-x86_64 ${args.join(' ')}`)
  const r = await run(opts.qemu ?? 'qemu-system-x86_64', args, { timeoutMs })
  const out = `${r.stdout}\n${r.stderr}`
  const failure = KVM_FAILURES.map(re => re.exec(out)?.[0]).find(Boolean)
  const exitedItself = !r.timedOut && r.signal === null

  if (exitedItself && BOOTED.test(r.stdout) && !failure) {
    log(`accelerator probe: guest kernel booted under kvm in ${r.ms} ms`)
    return { accelerator: 'kvm', why: 'kvm: guest kernel booted', ms: ms() }
  }
  let why: string
  if (failure) why = `kvm: ${failure.trim()}${r.timedOut ? ` (qemu hung, killed after ${Math.round(timeoutMs / 1000)} s)` : ''}`
  else if (r.timedOut) why = `kvm: the guest ${STARTED.test(r.stdout) ? 'started but did not finish booting' : 'showed no sign of life'} within ${Math.round(timeoutMs / 1000)} s`
  else if (STARTED.test(r.stdout)) why = `kvm: qemu exited (${r.code ?? r.signal}) before the guest kernel finished booting`
  else why = `kvm: qemu exited (${r.code ?? r.signal}) without booting the guest: ${tail(r.stderr, 3) || 'no output'}`
  log(`accelerator probe: ${why}`)
  return { accelerator: 'tcg', why, ms: ms() }
}
