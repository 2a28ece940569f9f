// What a qemu bake decides before Packer starts: that the base image is the
// one the checksum names (a local file is hashed here, before any boot), which
// accelerator actually runs a guest on this machine (a boot, not a look at
// /dev/kvm), and the qemu arguments and timeouts that follow from it.
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { ClawbakeError } from '../errors.ts'
import { hashFile } from '../file-hash.ts'
import { leaseStartDeadline } from '../openclaw/lease.ts'
import { ensureOpenclaw } from '../openclaw/runtime.ts'
import { acceleratorArgs, chooseAccelerator, chooseClock, timeoutScale, type ClockChoice } from '../vm/accelerator.ts'

/**
 * The guest clock for a bake or boot test of `tag` on this accelerator: under TCG it reads the release's
 * own files (the `openclaw@<tag>` package from npm, cached) for a fixed start-up deadline.
 */
export async function clockFor(accel: Accelerator, tag: string, env: Record<string, string | undefined>): Promise<ClockChoice> {
  if (accel === 'kvm') return chooseClock('kvm', env, null)
  const rt = await ensureOpenclaw(tag, env)
  const d = await leaseStartDeadline(join(rt.dir, 'node_modules', 'openclaw'))
  return chooseClock(accel, env, d ? { what: `OpenClaw ${tag} has a fixed ${d.ms / 1000} s state-lease start (LEASE_HEARTBEAT_START_TIMEOUT_MS in ${d.file})` } : null)
}

export type Accelerator = 'kvm' | 'tcg'

/** A local base image must match its sha256:/sha512: checksum now; a URL is verified by Packer while it downloads. */
export async function assertBaseChecksum(image: string, checksum: string): Promise<void> {
  if (/^https?:\/\//.test(image)) return
  const path = image.replace(/^file:\/\//, '')
  if (!existsSync(path)) throw new ClawbakeError(`the base image ${path} does not exist`, { file: path, field: 'ubuntu_image_url', rule: 'bake.base-missing' }, 2)
  const m = /^(sha256|sha512):([0-9a-f]+)$/.exec(checksum)
  if (!m) throw new ClawbakeError(`a local base image needs --base-checksum sha256:<hex> (or sha512:), got "${checksum || 'none'}"`, { file: path, field: 'ubuntu_image_checksum', rule: 'bake.base-checksum' }, 2)
  const got = await hashFile(path, m[1] as 'sha256' | 'sha512')
  if (got !== m[2]) {
    throw new ClawbakeError(`the base image ${path} has ${m[1]}:${got}, not the expected ${checksum}: refused before boot`, { file: path, field: 'ubuntu_image_checksum', rule: 'bake.base-checksum' }, 1)
  }
}

/** A kernel to boot for the accelerator probe: the given one, the host's own, or none. */
export function probeKernelPath(given: string | undefined, env: Record<string, string | undefined>): string | null {
  if (given && existsSync(given)) return given
  if (env.CLAWBAKE_PROBE_KERNEL && existsSync(env.CLAWBAKE_PROBE_KERNEL)) return env.CLAWBAKE_PROBE_KERNEL
  try {
    const k = readdirSync('/boot').filter(f => /^vmlinuz-/.test(f)).sort().at(-1)
    if (k) return `/boot/${k}`
  } catch { /* no /boot (a container) */ }
  return null
}

export async function probeAccelerator(kernel: string | undefined, env: Record<string, string | undefined>): Promise<{ accelerator: Accelerator; why: string }> {
  if (env.CLAWBAKE_ACCELERATOR === 'tcg') return { accelerator: 'tcg', why: 'CLAWBAKE_ACCELERATOR=tcg' }
  const k = probeKernelPath(kernel, env)
  if (!k) return { accelerator: 'tcg', why: 'no kernel to probe KVM with: TCG, the one that always runs' }
  const r = await chooseAccelerator({ kernel: k })
  return { accelerator: r.accelerator, why: r.why }
}

export interface QemuSettings {
  scale: number
  /** Packer variables: accelerator, qemuargs, timeouts */
  vars: Record<string, unknown>
}

export function qemuSettings(accel: Accelerator, opts: { serialLog: string; guestfwd: { addr: string; port: number; hostPort: number }[]; clock?: ClockChoice }): QemuSettings {
  const scale = timeoutScale(accel)
  const pairs: string[][] = []
  const a = acceleratorArgs(accel, process.env, opts.clock?.clock ?? 'real')
  for (let i = 0; i < a.length; i += 2) pairs.push([a[i] as string, a[i + 1] as string])
  // the SSH forward on 127.0.0.1 only (Packer's own binds every interface); `id=user.0` is the one Packer's -device names
  const fwd = opts.guestfwd.map(g => `,guestfwd=tcp:${g.addr}:${g.port}-cmd:socat STDIO TCP4:127.0.0.1:${g.hostPort}`).join('')
  pairs.push(['-netdev', `user,id=user.0,hostfwd=tcp:127.0.0.1:{{ .SSHHostPort }}-:22${fwd}`])
  pairs.push(['-serial', `file:${opts.serialLog}`])
  // Packer 1.6.6 starts a VNC server even with disable_vnc; a qemuargs entry replaces its default `-vnc`
  pairs.push(['-vnc', 'none'])
  const cliScale = accel === 'tcg' ? 4 : 1
  return {
    scale,
    vars: {
      accelerator: accel,
      qemuargs: pairs,
      // Packer waits in host time: under the instruction clock the guest needs `ratio` times the wall time
      ssh_timeout: accel === 'tcg' ? `${Math.ceil(30 * (opts.clock?.ratio ?? 1))}m` : '10m',
      gate_time_scale: cliScale,
      gate_ready_ms: accel === 'tcg' ? 900_000 : 240_000,
      gate_turn_ms: accel === 'tcg' ? 600_000 : 150_000,
    },
  }
}
