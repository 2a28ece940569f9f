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
import { envError } from '../errors.ts'
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
export function acceleratorArgs(a: Accelerator, env: Record<string, string | undefined> = process.env): string[] {
  if (a === 'kvm') return ['-accel', 'kvm', '-cpu', 'host']
  const cpu = env.CLAWBAKE_QEMU_CPU?.trim()
  return ['-accel', 'tcg,thread=multi', '-cpu', cpu && /^[A-Za-z0-9_.,+=-]+$/.test(cpu) ? cpu : 'max']
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
