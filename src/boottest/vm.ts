// A client's VM, made from a captured image the way a cloud makes one: a
// throw-away copy-on-write overlay of the qcow2 (the image itself is never
// written), a NoCloud seed (cd label `cidata`: user-data as the client gives
// it, meta-data with an instance id, a host name and the operator's SSH key,
// as a cloud's metadata service hands them out), qemu user networking with
// only an SSH forward on 127.0.0.1. The serial console goes to a file, shown
// when the VM does not come up.
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { isAbsolute, join, resolve } from 'node:path'
import { ClawbakeError } from '../errors.ts'
import { freeLoopbackPort } from '../loopback.ts'
import { runOk, startDaemon, tail, type Daemon } from '../proc/run.ts'
import { acceleratorArgs, type Accelerator, type TcgClock } from '../vm/accelerator.ts'

/** The serial a client's state disk carries (first boot finds it as /dev/disk/by-id/virtio-openclaw-state). */
export const STATE_DISK_SERIAL = 'openclaw-state'

/** A blank state disk for a client's VM: first boot formats it. */
export async function blankStateDisk(file: string, sizeGiB = 4): Promise<string> {
  rmSync(file, { force: true })
  await runOk('qemu-img', ['create', '-q', '-f', 'qcow2', file, `${sizeGiB}G`], { rule: 'boot-test.state-disk', what: 'qemu-img create (state disk)' })
  return file
}

/** qemu user networking: this machine's loopback as a guest sees it. */
export const QEMU_HOST_ADDR = '10.0.2.2'

/** A stand-in's URL on this machine's loopback as the guest reaches it (qemu's host address, the same port). */
export function asSeenByGuest(url: string): string {
  const u = new URL(url)
  if (u.hostname !== '127.0.0.1' && u.hostname !== 'localhost') throw new Error(`${url} is not on this machine's loopback: a guest reaches only that, at ${QEMU_HOST_ADDR}`)
  u.hostname = QEMU_HOST_ADDR
  return u.toString().replace(/\/$/, '')
}

export interface ClientVmSpec {
  /** the captured image (read only: an overlay takes every write) */
  image: string
  /** where the overlay, the seed and the serial log go (kept for inspection) */
  dir: string
  accelerator: Accelerator
  /** TCG's guest clock (default real time) */
  clock?: TcgClock
  userData: string
  instanceId: string
  hostname: string
  /** the operator's SSH public key, handed out as metadata (meta-data `public-keys`) */
  sshPublicKey: string
  memoryMiB?: number
  cpus?: number
  /**
   * the client's state disk (a qcow2 the VM keeps across images), attached as a
   * virtio disk with serial `openclaw-state`, as an operator attaches it (docs/state.md)
   */
  stateDisk?: string
  /** qemu guestfwd rules: a guest address:port to a host loopback port */
  guestfwd?: { addr: string; port: number; hostPort: number }[]
  signal?: AbortSignal
}

export interface ClientVm {
  /** SSH to the guest's port 22 */
  sshPort: number
  serialLog: string
  /** the last lines of the serial console, escapes removed */
  serialTail(lines?: number): string
  running(): boolean
  qemu: Daemon
  /** stop qemu (by its PID) and remove the seed, which holds the client's secrets */
  stop(): Promise<void>
}

export function metaData(spec: Pick<ClientVmSpec, 'instanceId' | 'hostname' | 'sshPublicKey'>): string {
  return [
    `instance-id: ${spec.instanceId}`,
    `local-hostname: ${spec.hostname}`,
    'public-keys:',
    `  - ${JSON.stringify(spec.sshPublicKey.trim())}`,
    '',
  ].join('\n')
}

/** Boot a fresh VM from `spec.image`; resolves once qemu runs (not once the guest is up). */
export async function bootClientVm(spec: ClientVmSpec): Promise<ClientVm> {
  const image = isAbsolute(spec.image) ? spec.image : resolve(spec.image)
  if (!existsSync(image)) throw new ClawbakeError(`the image ${image} does not exist`, { file: image, rule: 'boot-test.image-missing' }, 2)
  mkdirSync(spec.dir, { recursive: true, mode: 0o700 })
  chmodSync(spec.dir, 0o700)
  const seedDir = join(spec.dir, 'seed')
  mkdirSync(seedDir, { recursive: true, mode: 0o700 })
  writeFileSync(join(seedDir, 'user-data'), spec.userData, { mode: 0o600 })
  writeFileSync(join(seedDir, 'meta-data'), metaData(spec), { mode: 0o600 })
  const iso = join(spec.dir, 'seed.iso')
  await runOk('xorriso', ['-as', 'mkisofs', '-quiet', '-V', 'cidata', '-J', '-r', '-o', iso, join(seedDir, 'user-data'), join(seedDir, 'meta-data')], { rule: 'boot-test.seed', what: 'xorriso (NoCloud seed)' })
  chmodSync(iso, 0o600)
  rmSync(seedDir, { recursive: true, force: true })
  const overlay = join(spec.dir, 'disk.qcow2')
  rmSync(overlay, { force: true })
  await runOk('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', image, overlay], { rule: 'boot-test.overlay', what: 'qemu-img create (overlay)' })

  const sshPort = await freeLoopbackPort()
  const serialLog = join(spec.dir, 'serial.log')
  rmSync(serialLog, { force: true })
  const fwd = (spec.guestfwd ?? []).map(g => `,guestfwd=tcp:${g.addr}:${g.port}-cmd:socat STDIO TCP4:127.0.0.1:${g.hostPort}`).join('')
  const qemu = startDaemon('qemu-system-x86_64', [
    ...acceleratorArgs(spec.accelerator, process.env, spec.clock ?? 'real'), '-smp', String(spec.cpus ?? 2), '-m', String(spec.memoryMiB ?? 4096),
    '-nodefaults', '-no-user-config', '-display', 'none', '-monitor', 'none', '-vga', 'none',
    '-serial', `file:${serialLog}`,
    // the image's disk boots, always first: a blank state disk beside it must not be tried before it
    '-drive', `file=${overlay},if=none,id=root,format=qcow2,discard=unmap`, '-device', 'virtio-blk-pci,drive=root,bootindex=0',
    '-drive', `file=${iso},media=cdrom,readonly=on`,
    ...(spec.stateDisk ? ['-drive', `file=${spec.stateDisk},if=none,id=state,format=qcow2,discard=unmap`, '-device', `virtio-blk-pci,drive=state,serial=${STATE_DISK_SERIAL}`] : []),
    '-netdev', `user,id=n0,hostfwd=tcp:127.0.0.1:${sshPort}-:22${fwd}`, '-device', 'virtio-net-pci,netdev=n0',
  ], { ...(spec.signal ? { signal: spec.signal } : {}) })
  const serialTail = (lines = 15) => existsSync(serialLog)
    ? tail(readFileSync(serialLog, 'utf8').replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, ''), lines)
    : 'no serial output'
  return {
    sshPort,
    serialLog,
    serialTail,
    running: () => qemu.running(),
    qemu,
    async stop() {
      await qemu.stop(15_000)
      rmSync(iso, { force: true })
    },
  }
}
