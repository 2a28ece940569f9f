// The captured-disk check on real disks made here: a raw disk with an MBR
// partition table (sfdisk) whose ext4 root (mkfs.ext4 -d) holds planted
// build leftovers and a secret, read back by the real debugfs through a
// read-only loop device, and searched byte by byte.
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inspectDisk, searchFile } from '../../src/bake/inspect.ts'
import { runOk } from '../../src/proc/run.ts'

const OFFSET = 1 << 20

/** A 64 MiB qcow2 whose one partition (at 1 MiB) is an ext4 made from `tree`. */
async function diskFrom(dir: string, tree: string): Promise<string> {
  const fs = join(dir, 'root.ext4')
  await runOk('truncate', ['-s', '63M', fs])
  await runOk('mkfs.ext4', ['-q', '-F', '-d', tree, fs])
  const raw = join(dir, 'disk.raw')
  await runOk('truncate', ['-s', '64M', raw])
  await runOk('sfdisk', ['--quiet', raw], { input: `start=${OFFSET / 512}, type=83, bootable\n` })
  await runOk('dd', [`if=${fs}`, `of=${raw}`, 'bs=1M', `seek=${OFFSET >> 20}`, 'conv=notrunc', 'status=none'])
  const qcow2 = join(dir, 'disk.qcow2')
  await runOk('qemu-img', ['convert', '-c', '-O', 'qcow2', raw, qcow2])
  rmSync(raw)
  rmSync(fs)
  return qcow2
}

function cleanTree(root: string): void {
  for (const d of ['etc/ssh', 'opt/openclaw/state', 'home', 'root', 'var/lib/cloud']) mkdirSync(join(root, d), { recursive: true })
  writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/bash\nopenclaw:x:1000:1000::/nonexistent:/usr/sbin/nologin\ndebian:x:1001:1001::/home/debian:/bin/bash\n')
  writeFileSync(join(root, 'etc/hosts'), '127.0.0.1 localhost\n')
  // what `cloud-init clean --machine-id` leaves: systemd makes a new id at first boot
  writeFileSync(join(root, 'etc/machine-id'), 'uninitialized\n')
}

t.test('a clean disk passes; the secret search reads every byte', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'clawbake-inspect-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const tree = join(dir, 'tree')
  cleanTree(tree)
  // what scrub.sh keeps of state/: V8's compile cache of the pinned image's code
  mkdirSync(join(tree, 'opt/openclaw/state/.compile-cache/v24.21.0-x64-5c0f0e6a-0'), { recursive: true })
  writeFileSync(join(tree, 'opt/openclaw/state/.compile-cache/v24.21.0-x64-5c0f0e6a-0/aa9ba40d'), randomBytes(512))
  const qcow2 = await diskFrom(dir, tree)
  const r = await inspectDisk(qcow2, { secrets: [{ name: 'the avots API key', value: `sk-${randomBytes(16).toString('hex')}` }], workDir: dir })
  t.same(r.findings, [], 'the compile cache may stay')
  t.equal(r.ok, true)
  t.equal(r.bytes, 64 << 20, 'the whole raw disk was read')
})

t.test('every planted leftover and the secret are found, each named', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'clawbake-inspect-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const tree = join(dir, 'tree')
  cleanTree(tree)
  const key = `sk-avots-${randomBytes(16).toString('hex')}`
  const token = randomBytes(32).toString('hex')
  writeFileSync(join(tree, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/bash\nubuntu:x:1000:1000::/home/ubuntu:/bin/bash\nclawbake:x:2000:2000::/home/clawbake:/bin/bash\nsandbox:x:999:999::/srv/openclaw-sandbox:/bin/bash\n')
  mkdirSync(join(tree, 'home/clawbake/.ssh'), { recursive: true })
  writeFileSync(join(tree, 'home/clawbake/.ssh/authorized_keys'), 'ssh-ed25519 AAAA build\n')
  writeFileSync(join(tree, 'etc/ssh/ssh_host_ed25519_key'), 'host key\n')
  writeFileSync(join(tree, 'etc/machine-id'), 'a'.repeat(32) + '\n')
  writeFileSync(join(tree, 'etc/hosts'), '127.0.0.1 localhost\n10.0.2.100 ghcr.io # clawbake-rehearsal\n')
  mkdirSync(join(tree, 'etc/docker/certs.d/ghcr.io'), { recursive: true })
  writeFileSync(join(tree, 'etc/docker/certs.d/ghcr.io/ca.crt'), 'cert\n')
  writeFileSync(join(tree, 'opt/openclaw/state/.env'), `AVOTS_API_KEY=${key}\n`)
  chmodSync(join(tree, 'opt/openclaw/state/.env'), 0o600)
  mkdirSync(join(tree, 'opt/openclaw/state/.compile-cache'))
  writeFileSync(join(tree, 'opt/openclaw/state/openclaw.json'), '{}\n')
  // the token in a deleted-looking place: an ordinary log the scrub missed
  mkdirSync(join(tree, 'var/log'), { recursive: true })
  writeFileSync(join(tree, 'var/log/gates.log'), `token=${token}\n`)
  const qcow2 = await diskFrom(dir, tree)
  const r = await inspectDisk(qcow2, { secrets: [{ name: 'the avots API key', value: key }, { name: 'the gateway token', value: token }], workDir: dir })
  t.equal(r.ok, false)
  const all = r.findings.join('\n')
  for (const want of [
    /the avots API key in the raw disk at byte \d+/,
    /the gateway token in the raw disk at byte \d+/,
    /user clawbake is in \/etc\/passwd/,
    /user sandbox is in \/etc\/passwd/,
    /uid 1000 .* is a login account: ubuntu/,
    /the build user's home: \/home\/clawbake/,
    /\/home\/clawbake\/\.ssh\/authorized_keys is in the image/,
    /an SSH host key: \/etc\/ssh\/ssh_host_ed25519_key/,
    /\/etc\/machine-id holds an id \(32 characters\)/,
    /\/etc\/hosts still maps ghcr\.io/,
    /the rehearsal CA trust for ghcr\.io/,
    /the gate run's state\/\.env/,
    /\/opt\/openclaw\/state is not empty: .*\.env/,
    /\/opt\/openclaw\/state is not empty: .*openclaw\.json/,
  ]) t.match(all, want)
  t.notMatch(all, /not empty: .*\.compile-cache/, 'the compile cache is not a leftover')
})

t.test('searchFile finds a needle that straddles two chunks', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'clawbake-inspect-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const needle = `secret-${randomBytes(12).toString('hex')}`
  const file = join(dir, 'f')
  const at = (32 << 20) - 5 // the search reads 32 MiB chunks
  const buf = Buffer.alloc(at + needle.length + 100)
  buf.write(needle, at)
  writeFileSync(file, buf)
  t.same(searchFile(file, [{ name: 'n', value: needle }]).hits, [{ name: 'n', offset: at }])
})
