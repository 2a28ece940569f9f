// The captured disk, checked before anything is published: converted to raw
// and searched byte by byte for every secret of the run (wherever a file
// system put it, deleted blocks and journals included), then its root file
// system read (debugfs, read-only, never mounted) for what a build leaves
// behind: the build user and its keys, SSH host keys, a machine id, the
// rehearsal's CA and name mapping, the gate run's state and sandbox account.
import { closeSync, openSync, readSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { ClawbakeError } from '../errors.ts'
import { run, runOk } from '../proc/run.ts'

/** The one entry of state/ an image keeps (scrub.sh): V8's compile cache. */
export const KEPT_STATE = '.compile-cache'

export interface Secret {
  name: string
  value: string
}

export interface DiskInspection {
  ok: boolean
  /** one line per problem: "the avots API key at byte 123456", "build user clawbake in /etc/passwd" */
  findings: string[]
  /** bytes of the raw disk searched */
  bytes: number
  /** what was checked, for the report */
  checked: string[]
  ms: number
}

const CHUNK = 32 << 20

/** Byte offsets (first of each needle) at which any of `secrets` occurs in the file; reads it once, in chunks with overlap. */
export function searchFile(file: string, secrets: Secret[]): { hits: { name: string; offset: number }[]; bytes: number } {
  const needles = secrets.filter(s => s.value.length >= 8).map(s => ({ name: s.name, bytes: Buffer.from(s.value) }))
  const overlap = Math.max(0, ...needles.map(n => n.bytes.length)) - 1
  const fd = openSync(file, 'r')
  const buf = Buffer.alloc(CHUNK + overlap)
  const found = new Map<string, number>()
  let pos = 0
  let carry = 0
  try {
    for (;;) {
      const n = readSync(fd, buf, carry, CHUNK, pos)
      if (n <= 0) break
      const len = carry + n
      const view = buf.subarray(0, len)
      for (const needle of needles) {
        if (found.has(needle.name)) continue
        const i = view.indexOf(needle.bytes)
        if (i >= 0) found.set(needle.name, pos - carry + i)
      }
      pos += n
      carry = Math.min(overlap, len)
      buf.copy(buf, 0, len - carry, len)
    }
  } finally {
    closeSync(fd)
  }
  return { hits: [...found].map(([name, offset]) => ({ name, offset })), bytes: pos }
}

interface Partition { start: number; size: number; type: string }

/** The root file system's byte offset in a raw disk: the largest Linux partition (MBR 83 or GPT Linux data). */
export async function rootPartitionOffset(raw: string): Promise<number> {
  const r = await runOk('sfdisk', ['--json', raw], { rule: 'inspect.partition-table' })
  const t = JSON.parse(r.stdout) as { partitiontable: { sectorsize?: number; partitions: Partition[] } }
  const sector = t.partitiontable.sectorsize ?? 512
  const linux = t.partitiontable.partitions.filter(p => /^(83|0FC63DAF-8483-4772-8E79-3D69D8477DE4|4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709)$/i.test(p.type))
  const root = linux.sort((a, b) => b.size - a.size)[0]
  if (!root) throw new ClawbakeError(`no Linux partition in ${raw}`, { file: raw, rule: 'inspect.no-root' }, 1)
  return root.start * sector
}

/** What must not be in the image, as debugfs sees the root file system. */
export const LEFTOVER_PATHS: { path: string; what: string }[] = [
  { path: '/home/clawbake', what: 'the build user\'s home' },
  { path: '/etc/sudoers.d/90-cloud-init-users', what: 'the build user\'s sudo rule' },
  { path: '/root/.ssh/authorized_keys', what: 'root\'s authorized_keys' },
  { path: '/etc/ssh/ssh_host_ed25519_key', what: 'an SSH host key' },
  { path: '/etc/ssh/ssh_host_rsa_key', what: 'an SSH host key' },
  { path: '/etc/ssh/ssh_host_ecdsa_key', what: 'an SSH host key' },
  { path: '/etc/docker/certs.d/ghcr.io', what: 'the rehearsal CA trust for ghcr.io' },
  { path: '/var/lib/clawbake', what: 'gate state' },
  { path: '/tmp/clawbake', what: 'the build stage directory' },
  { path: '/srv/openclaw-sandbox', what: 'the gate run\'s sandbox home' },
  { path: '/etc/openclaw-sandbox', what: 'the gate run\'s sandbox sshd keys' },
  { path: '/opt/openclaw/.env', what: 'a .env with secrets' },
  { path: '/opt/openclaw/state/.env', what: 'the gate run\'s state/.env' },
  { path: '/opt/openclaw/state/openclaw.json', what: 'the gate run\'s rendered config' },
  { path: '/var/lib/cloud/instances', what: 'cloud-init\'s copy of the build VM\'s user-data' },
  { path: '/root/.bash_history', what: 'shell history' },
  { path: '/etc/clawbake/egress', what: 'the gate run\'s rendered egress allowlist' },
  { path: '/etc/systemd/system/docker.service.d/clawbake-egress.conf', what: 'the gate run\'s egress drop-in for Docker' },
  { path: '/etc/systemd/system/clawbake-egress.service', what: 'the gate run\'s egress unit' },
  { path: '/etc/systemd/system/openclaw-forget-user-data.service', what: 'the gate run\'s first-boot unit' },
]

async function debugfs(device: string, request: string): Promise<string> {
  const r = await run('debugfs', ['-R', request, device])
  return r.stdout + r.stderr
}

export async function leftoversIn(device: string): Promise<{ findings: string[]; checked: string[] }> {
  const findings: string[] = []
  const checked: string[] = []
  for (const l of LEFTOVER_PATHS) {
    const out = await debugfs(device, `stat ${l.path}`)
    checked.push(l.path)
    if (/Inode: \d+/.test(out)) findings.push(`${l.what}: ${l.path} is in the image`)
  }
  const passwd = await debugfs(device, 'cat /etc/passwd')
  if (!/^root:/m.test(passwd)) throw new ClawbakeError(`cannot read /etc/passwd of the captured image: ${passwd.slice(0, 200)}`, { file: '/etc/passwd', rule: 'inspect.unreadable' }, 1)
  checked.push('/etc/passwd')
  for (const user of ['clawbake', 'sandbox']) if (new RegExp(`^${user}:`, 'm').test(passwd)) findings.push(`user ${user} is in /etc/passwd`)
  const uid1000 = passwd.split('\n').find(l => l.split(':')[2] === '1000')
  if (uid1000 && !/:\/usr\/sbin\/nologin$|:\/bin\/false$/.test(uid1000)) findings.push(`uid 1000 (the container's, owner of state/.env) is a login account: ${uid1000.split(':')[0]}`)
  // empty, or systemd's first-boot marker `uninitialized` (what `cloud-init clean --machine-id` writes): a new id at first boot
  const machineId = (await debugfs(device, 'cat /etc/machine-id')).split('\n').filter(l => !/^debugfs \d/.test(l)).join('\n').trim()
  checked.push('/etc/machine-id')
  if (machineId && machineId !== 'uninitialized') findings.push(`/etc/machine-id holds an id (${machineId.length} characters): every clone would share it`)
  const hosts = await debugfs(device, 'cat /etc/hosts')
  checked.push('/etc/hosts')
  if (/clawbake-rehearsal|\bghcr\.io\b/.test(hosts)) findings.push('/etc/hosts still maps ghcr.io (rehearsal)')
  const state = await debugfs(device, 'ls -p /opt/openclaw/state')
  checked.push('/opt/openclaw/state')
  // all that may stay is V8's compile cache of the pinned image's code (scrub.sh keeps it: bytecode, no data;
  // the raw-disk search above covers it like every other byte)
  const entries = state.split('\n').map(l => l.split('/')[5]).filter(n => n && n !== '.' && n !== '..' && n !== KEPT_STATE)
  if (entries.length) findings.push(`/opt/openclaw/state is not empty: ${entries.join(', ')}`)
  const homes = await debugfs(device, 'ls -p /home')
  for (const name of homes.split('\n').map(l => l.split('/')[5]).filter(n => n && n !== '.' && n !== '..')) {
    const keys = await debugfs(device, `stat /home/${name}/.ssh/authorized_keys`)
    if (/Inode: \d+/.test(keys)) findings.push(`/home/${name}/.ssh/authorized_keys is in the image`)
  }
  return { findings, checked }
}

/** Convert `qcow2` to raw under `workDir`, search it, read its root file system; the raw copy is removed afterwards. */
export async function inspectDisk(qcow2: string, opts: { secrets: Secret[]; workDir: string; log?: (l: string) => void }): Promise<DiskInspection> {
  const t0 = Date.now()
  const raw = join(opts.workDir, 'inspect.raw')
  rmSync(raw, { force: true })
  try {
    await runOk('qemu-img', ['convert', '-O', 'raw', qcow2, raw], { rule: 'inspect.convert', timeoutMs: 1_800_000 })
    opts.log?.(`raw disk ${(statSync(raw).size / 2 ** 30).toFixed(1)} GiB; searching it for ${opts.secrets.length} secret(s)`)
    const { hits, bytes } = searchFile(raw, opts.secrets)
    const findings = hits.map(h => `${h.name} in the raw disk at byte ${h.offset}`)
    const offset = await rootPartitionOffset(raw)
    const loop = (await runOk('losetup', ['--read-only', '--find', '--show', '--offset', String(offset), raw], { rule: 'inspect.losetup' })).stdout.trim()
    let left: { findings: string[]; checked: string[] }
    try {
      left = await leftoversIn(loop)
    } finally {
      await run('losetup', ['--detach', loop])
    }
    findings.push(...left.findings)
    return { ok: findings.length === 0, findings, bytes, checked: [`${opts.secrets.map(s => s.name).join(', ')} (raw bytes)`, ...left.checked], ms: Date.now() - t0 }
  } finally {
    rmSync(raw, { force: true })
  }
}
