// A Debian 13 (trixie) cloud base image built from Debian's own packages
// alone, no download of anyone's cloud image: mmdebstrap (minbase, trixie +
// trixie-updates + trixie-security) straight into an ext4 file system on a
// loop device, extlinux as the boot loader, a NoCloud/None cloud-init, then
// `qemu-img convert -c` to a compressed qcow2.
//
// Cached by what goes into it: <cacheDir>/debian-13-<hash12>.qcow2 with its
// `.sha256` (written last: its presence says the set is complete), and the
// guest kernel and initrd next to it (`.vmlinuz`, `.initrd.img`) for direct
// kernel boots and the accelerator probe. The .debs are kept under
// <cacheDir>/debs between runs (bind-mounted into the chroot's apt cache, so
// they never land in the image) and pruned to the versions last installed.
// Needs root: loop devices and mounts. Whatever fails, the file system is
// unmounted and the loop device detached, and the half-built files removed.
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { existsSync, mkdirSync, openSync, closeSync, writeSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, truncateSync, copyFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import { writeFileAtomic } from '../atomic.ts'
import { ClawbakeError, envError } from '../errors.ts'
import { hashFile } from '../file-hash.ts'
import { run, runOk, tail, type RunOptions } from '../proc/run.ts'

/** Bump when the build recipe changes in a way the inputs below do not show. */
export const DEBIAN_BASE_FORMAT = 1

export const DEBIAN_MIRROR = 'http://deb.debian.org/debian'
export const DEBIAN_SECURITY_MIRROR = 'http://deb.debian.org/debian-security'
export const DEBIAN_SUITE = 'trixie'

/** The apt sources, one-line format, in the order mmdebstrap gets them. */
export const DEBIAN_SOURCES: readonly string[] = [
  `deb ${DEBIAN_MIRROR} trixie main`,
  `deb ${DEBIAN_MIRROR} trixie-updates main`,
  `deb ${DEBIAN_SECURITY_MIRROR} trixie-security main`,
]

/** Installed on top of minbase (Recommends are not installed: docker-cli is only a Recommends of docker.io). */
export const DEBIAN_BASE_PACKAGES: readonly string[] = [
  'systemd-sysv', 'udev', 'dbus', 'systemd-resolved', 'netbase', 'iproute2',
  'linux-image-amd64', 'zstd',
  'cloud-init', 'cloud-guest-utils', 'fdisk', 'e2fsprogs',
  'openssh-server', 'sudo', 'ca-certificates', 'curl',
  'docker.io', 'docker-cli', 'docker-compose', 'apparmor', 'nftables', 'dnsmasq-base', 'procps',
]

/**
 * The kernel command line. ttyS0 comes last on purpose: the last `console=`
 * is /dev/console, where systemd's status lines and cloud-init's output go,
 * so a VM's serial log shows the whole boot and cloud-init; tty0 still gets
 * the kernel messages.
 */
export const DEBIAN_KERNEL_CMDLINE = 'console=tty0 console=ttyS0,115200'

export const DEBIAN_DISK_BYTES = 4 * 1024 ** 3
/** The one partition starts at 1 MiB (sector 2048). */
export const PARTITION_OFFSET = 1024 * 1024

/**
 * mmdebstrap --customize-hook scripts, `sh -c` with $1 the new root. The
 * placeholders are filled in per build (the root UUID) and are part of the
 * cache key as written here.
 */
export const DEBIAN_CUSTOMIZE_HOOKS: readonly string[] = [
  // the root by UUID
  `printf 'UUID=@ROOT_UUID@ / ext4 errors=remount-ro 0 1\\n' > "$1/etc/fstab"`,
  // boot loader: extlinux reads /boot/extlinux/extlinux.conf; /vmlinuz and /initrd.img are the kernel's symlinks
  `mkdir -p "$1/boot/extlinux" && printf '%s\\n' 'DEFAULT debian' 'PROMPT 0' 'TIMEOUT 1' 'LABEL debian' '  LINUX /vmlinuz' '  INITRD /initrd.img' '  APPEND root=UUID=@ROOT_UUID@ ro @CMDLINE@' > "$1/boot/extlinux/extlinux.conf"`,
  // cloud-init: a NoCloud seed when there is one, else nothing
  `printf 'datasource_list: [ NoCloud, None ]\\n' > "$1/etc/cloud/cloud.cfg.d/99-clawbake-datasource.cfg"`,
  // network: DHCP on any ethernet-named link, through networkd and resolved
  `mkdir -p "$1/etc/systemd/network" && printf '%s\\n' '[Match]' 'Name=en* eth*' '' '[Network]' 'DHCP=yes' > "$1/etc/systemd/network/99-fallback-dhcp.network"`,
  `chroot "$1" systemctl enable systemd-networkd.service systemd-resolved.service`,
  `ln -sf ../run/systemd/resolve/stub-resolv.conf "$1/etc/resolv.conf"`,
  `printf 'debian\\n' > "$1/etc/hostname" && printf '%s\\n' '127.0.0.1 localhost' '::1 localhost ip6-localhost ip6-loopback' > "$1/etc/hosts"`,
  // no identity baked in: host keys made at first boot, a fresh machine-id
  `rm -f "$1"/etc/ssh/ssh_host_*`,
  `mkdir -p "$1/etc/systemd/system/ssh.service.d" && printf '%s\\n' '[Service]' 'ExecStartPre=' 'ExecStartPre=/usr/bin/ssh-keygen -A' 'ExecStartPre=/usr/sbin/sshd -t' > "$1/etc/systemd/system/ssh.service.d/10-host-keys.conf"`,
  `: > "$1/etc/machine-id" && rm -f "$1/var/lib/dbus/machine-id"`,
]

export interface DebianBaseOptions {
  cacheDir: string
  log?: (line: string) => void
  signal?: AbortSignal
}

export interface DebianBase {
  qcow2: string
  /** hex sha256 of the qcow2 file */
  sha256: string
  /** true when it came from the cache, nothing was built */
  cached: boolean
  ms: number
  /** the guest's kernel and initrd, copied out of the image */
  kernel: string
  initrd: string
}

/** The cache key: every input of the build, hashed. */
export function debianBaseKey(): string {
  const inputs = {
    format: DEBIAN_BASE_FORMAT,
    variant: 'minbase',
    suite: DEBIAN_SUITE,
    sources: DEBIAN_SOURCES,
    packages: DEBIAN_BASE_PACKAGES,
    hooks: DEBIAN_CUSTOMIZE_HOOKS,
    cmdline: DEBIAN_KERNEL_CMDLINE,
    diskBytes: DEBIAN_DISK_BYTES,
    partitionOffset: PARTITION_OFFSET,
  }
  return createHash('sha256').update(JSON.stringify(inputs)).digest('hex')
}

export function debianBasePaths(cacheDir: string): { qcow2: string; sha256File: string; kernel: string; initrd: string; debs: string } {
  const stem = join(cacheDir, `debian-13-${debianBaseKey().slice(0, 12)}`)
  return { qcow2: `${stem}.qcow2`, sha256File: `${stem}.qcow2.sha256`, kernel: `${stem}.vmlinuz`, initrd: `${stem}.initrd.img`, debs: join(cacheDir, 'debs') }
}

const SYSLINUX_MBR = ['/usr/lib/syslinux/mbr/mbr.bin', '/usr/share/syslinux/mbr.bin', '/usr/lib/SYSLINUX/mbr.bin']

function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`
}

function readCached(p: ReturnType<typeof debianBasePaths>): string | null {
  if (!existsSync(p.sha256File) || !existsSync(p.qcow2) || !existsSync(p.kernel) || !existsSync(p.initrd)) return null
  const m = /^([0-9a-f]{64})\b/.exec(readFileSync(p.sha256File, 'utf8'))
  return m?.[1] ?? null
}

/** Build (or take from the cache) the Debian 13 base qcow2. */
export async function buildDebianBase(opts: DebianBaseOptions): Promise<DebianBase> {
  const t0 = performance.now()
  const log = opts.log ?? (() => {})
  const paths = debianBasePaths(opts.cacheDir)
  const hit = readCached(paths)
  if (hit) return { qcow2: paths.qcow2, sha256: hit, cached: true, ms: Math.round(performance.now() - t0), kernel: paths.kernel, initrd: paths.initrd }

  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    throw envError('building the Debian base image needs root (loop device, mount, mmdebstrap --mode=root)', { file: paths.qcow2, rule: 'env.root-required' })
  }
  const mbr = SYSLINUX_MBR.find(f => existsSync(f))
  if (!mbr) throw envError(`syslinux's mbr.bin not found (looked in ${SYSLINUX_MBR.join(', ')}): install syslinux-common`, { field: 'mbr.bin', rule: 'env.program-missing' })

  mkdirSync(opts.cacheDir, { recursive: true })
  mkdirSync(paths.debs, { recursive: true })
  const work = join(opts.cacheDir, `.build-${debianBaseKey().slice(0, 12)}-${randomBytes(4).toString('hex')}`)
  const raw = join(work, 'disk.raw')
  const mnt = join(work, 'root')
  mkdirSync(mnt, { recursive: true })
  const uuid = randomUUID()
  const step = { signal: opts.signal, onLine: (l: string) => log(l) } satisfies RunOptions
  let loop: string | null = null
  let mounted = false
  try {
    // the disk: 4 GiB sparse, one bootable Linux partition from 1 MiB to the end
    closeSync(openSync(raw, 'w'))
    truncateSync(raw, DEBIAN_DISK_BYTES)
    await runOk('sfdisk', ['--quiet', raw], { ...step, input: `label: dos\nunit: sectors\n\nstart=${PARTITION_OFFSET / 512}, type=83, bootable\n`, timeoutMs: 60_000, what: 'sfdisk (partition the base disk)' })
    // losetup -P makes no partition devices in a sandbox: map the partition by offset
    loop = (await runOk('losetup', ['--find', '--show', '--offset', String(PARTITION_OFFSET), '--sizelimit', String(DEBIAN_DISK_BYTES - PARTITION_OFFSET), raw], { ...step, timeoutMs: 60_000, what: 'losetup (attach the base disk)', rule: 'env.loop-device' })).stdout.trim()
    if (!/^\/dev\/loop\d+$/.test(loop)) throw envError(`losetup printed no loop device: ${JSON.stringify(loop)}`, { field: 'losetup', rule: 'env.loop-device' })
    await runOk('mkfs.ext4', ['-q', '-F', '-U', uuid, '-L', 'root', loop], { ...step, timeoutMs: 120_000, what: 'mkfs.ext4 (root file system)' })
    await runOk('mount', [loop, mnt], { ...step, timeoutMs: 60_000, what: 'mount (root file system)' })
    mounted = true

    const hooks = DEBIAN_CUSTOMIZE_HOOKS.map(h => h.replaceAll('@ROOT_UUID@', uuid).replaceAll('@CMDLINE@', DEBIAN_KERNEL_CMDLINE))
    const archives = '"$1/var/cache/apt/archives"'
    const args = [
      '--mode=root', '--variant=minbase', '--format=directory',
      `--include=${DEBIAN_BASE_PACKAGES.join(',')}`,
      // the .deb cache: bind-mounted over apt's archive dir for the whole run, so downloads land in it and not in the image
      '--skip=essential/unlink',
      `--setup-hook=mkdir -p ${archives} && mount --bind ${shQuote(paths.debs)} ${archives}`,
      ...hooks.map(h => `--customize-hook=${h}`),
      `--customize-hook=umount ${archives}`,
      DEBIAN_SUITE, mnt, ...DEBIAN_SOURCES,
    ]
    log(`mmdebstrap: ${DEBIAN_SOURCES.join('; ')} (${DEBIAN_BASE_PACKAGES.length} packages)`)
    const m = await run('mmdebstrap', args, { ...step, timeoutMs: 30 * 60_000 })
    if (m.code !== 0 || m.timedOut) {
      if (opts.signal?.aborted) throw envError('building the Debian base was aborted (mmdebstrap killed)', { file: paths.qcow2, field: 'mmdebstrap', rule: 'vm.aborted' })
      const out = m.stderr + '\n' + m.stdout
      const unreachable = /(Could not resolve|Failed to fetch|Temporary failure resolving|Connection failed|Unable to connect)/.test(out)
      throw envError(`mmdebstrap failed (${m.timedOut ? 'timed out' : m.code === null ? `killed by ${m.signal}` : `exit ${m.code}`})${unreachable ? ` - is ${DEBIAN_MIRROR} reachable?` : ''}: ${tail(out)}`, { field: 'mmdebstrap', rule: unreachable ? 'env.network' : 'env.command-failed' })
    }

    const kernel = realpathSync(join(mnt, 'vmlinuz'))
    const initrd = realpathSync(join(mnt, 'initrd.img'))
    if (!kernel.startsWith(mnt + '/') || !initrd.startsWith(mnt + '/')) {
      throw new ClawbakeError(`the kernel symlinks point outside the image (${kernel}, ${initrd})`, { file: '/vmlinuz', rule: 'vm.kernel-missing' })
    }
    copyFileSync(kernel, join(work, 'vmlinuz'))
    copyFileSync(initrd, join(work, 'initrd.img'))
    await runOk('extlinux', ['--install', join(mnt, 'boot', 'extlinux')], { ...step, timeoutMs: 60_000, what: 'extlinux --install' })
    const installed = await runOk('dpkg-query', [`--admindir=${join(mnt, 'var/lib/dpkg')}`, '-W', '-f=${Package}_${Version}_${Architecture}.deb\n'], { signal: opts.signal, timeoutMs: 60_000 })
    // fstrim: blocks freed during the install (apt lists, temp files) become holes, not qcow2 data
    await run('fstrim', [mnt], { signal: opts.signal, timeoutMs: 120_000 })
    await runOk('umount', [mnt], { ...step, timeoutMs: 120_000, what: 'umount (root file system)' })
    mounted = false
    await runOk('losetup', ['-d', loop], { ...step, timeoutMs: 60_000, what: 'losetup -d' })
    loop = null

    // the boot code: syslinux's MBR (the first 440 bytes; the partition table stays)
    const code = readFileSync(mbr).subarray(0, 440)
    const fd = openSync(raw, 'r+')
    try { writeSync(fd, code, 0, code.length, 0) } finally { closeSync(fd) }

    const qcow2 = join(work, 'disk.qcow2')
    log('qemu-img convert -c -O qcow2')
    await runOk('qemu-img', ['convert', '-c', '-O', 'qcow2', raw, qcow2], { ...step, timeoutMs: 20 * 60_000, what: 'qemu-img convert' })
    rmSync(raw, { force: true })
    const sha256 = await hashFile(qcow2)

    renameSync(join(work, 'vmlinuz'), paths.kernel)
    renameSync(join(work, 'initrd.img'), paths.initrd)
    renameSync(qcow2, paths.qcow2)
    writeFileAtomic(paths.sha256File, `${sha256}  ${basename(paths.qcow2)}\n`)
    pruneDebs(paths.debs, new Set(installed.stdout.split('\n').filter(Boolean).map(f => f.replaceAll(':', '%3a'))))
    return { qcow2: paths.qcow2, sha256, cached: false, ms: Math.round(performance.now() - t0), kernel: paths.kernel, initrd: paths.initrd }
  } finally {
    // whatever happened: nothing stays mounted (mmdebstrap's own /proc, /sys, /dev mounts under it too), no loop device stays attached
    if (mounted) {
      const u = await run('umount', ['-R', mnt], { timeoutMs: 120_000 })
      if (u.code !== 0) await run('umount', ['-R', '-l', mnt], { timeoutMs: 60_000 })
    }
    if (loop) await run('losetup', ['-d', loop], { timeoutMs: 60_000 })
    // never delete through a mount that is still there
    const still = await run('findmnt', ['-rn', '-o', 'TARGET', '--target', mnt], { timeoutMs: 30_000 })
    if (!still.stdout.split('\n').some(l => l.trim() === mnt)) rmSync(work, { recursive: true, force: true })
  }
}

/** Keep only the .debs of the versions just installed (apt names them name_version_arch.deb, ':' as %3a). */
function pruneDebs(dir: string, keep: Set<string>): void {
  if (keep.size === 0) return
  for (const f of readdirSync(dir)) {
    if (f.endsWith('.deb') && !keep.has(f)) rmSync(join(dir, f), { force: true })
  }
}
