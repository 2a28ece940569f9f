// The small pieces of the bake: lock, prerequisites, hosts, release record.
import t from 'tap'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs'
import { tmpdir, hostname } from 'node:os'
import { join } from 'node:path'
import { acquireBakeLock, lockFile } from '../../src/bake/lock.ts'
import { missingPrerequisites, describeMissing } from '../../src/bake/prerequisites.ts'
import { registryHost, urlHost } from '../../src/bake/bake.ts'
import { readReleaseRecord } from '../../src/bake/release.ts'
import { withErrorCleanup } from '../../src/bake/template.ts'

function dir(t: { teardown(fn: () => void): void }): string {
  const d = mkdtempSync(join(tmpdir(), 'clawbake-units-'))
  t.teardown(() => rmSync(d, { recursive: true, force: true }))
  return d
}

t.test('lock: exclusive, names the holder, released only by its owner, stale taken over', async t => {
  const root = dir(t)
  const a = acquireBakeLock(root, { tag: '2026.9.6', now: new Date('2026-11-25T00:00:00Z') })
  const held = JSON.parse(readFileSync(lockFile(root), 'utf8'))
  t.same(held, { pid: process.pid, host: hostname(), startedAt: '2026-11-25T00:00:00.000Z', tag: '2026.9.6' })
  t.throws(() => acquireBakeLock(root, { tag: '2026.9.7', now: new Date() }), { name: 'ClawbakeError', rule: 'bake.locked', exitCode: 2, message: /tag 2026\.9\.6/ })
  a.release()
  t.notOk(existsSync(lockFile(root)))
  const b = acquireBakeLock(root, { tag: '2026.9.7', now: new Date() })
  a.release() // a second release by a former holder does not remove b's lock
  t.ok(existsSync(lockFile(root)))
  b.release()

  writeFileSync(lockFile(root), JSON.stringify({ pid: 2 ** 22 + 4321, host: hostname(), startedAt: 'x', tag: 'old' }))
  const c = acquireBakeLock(root, { tag: '2026.9.8', now: new Date() })
  t.equal(c.replaced?.pid, 2 ** 22 + 4321)
  c.release()
  writeFileSync(lockFile(root), '{half-writ')
  const d = acquireBakeLock(root, { tag: '2026.9.8', now: new Date() })
  t.ok(d.replaced, 'an unreadable lock is stale')
  d.release()
  writeFileSync(lockFile(root), JSON.stringify({ pid: 1, host: 'another-host', startedAt: 'x', tag: 'remote' }))
  t.throws(() => acquireBakeLock(root, { tag: '2026.9.8', now: new Date() }), { name: 'ClawbakeError', rule: 'bake.locked' }, 'a lock from another host is never assumed stale')
})

t.test('prerequisites: each missing piece once, with how to get it', async t => {
  const empty = dir(t)
  const looked: string[] = []
  const missing = await missingPrerequisites({
    builder: 'qemu', env: { PATH: empty },
    hosts: ['ghcr.io', 'cloud-images.ubuntu.com', '127.0.0.1', 'localhost', 'ghcr.io'],
    resolveHost: async h => { looked.push(h); if (h === 'ghcr.io') throw new Error('ENOTFOUND') },
  })
  t.same(looked, ['ghcr.io', 'cloud-images.ubuntu.com'], 'loopback and literals are not looked up; each host once')
  t.same(missing.map(m => m.id), ['packer', 'AVOTS_API_KEY', 'qemu-system-x86_64', 'qemu-img', 'xorriso', 'ssh-keygen', 'network'])
  t.match(describeMissing('qemu', missing), /^missing prerequisites for `clawbake bake --builder qemu`:\n  - packer: /)
  const aws = await missingPrerequisites({ builder: 'amazon-ebs', env: { PATH: process.env.PATH, AVOTS_API_KEY: 'k-12345678', HOME: empty }, hosts: [], resolveHost: async () => {} })
  // Debian's packer 1.6.6 here: it cannot log in to Ubuntu 24.04 on EC2 (RSA/SHA-1 temporary key)
  t.same(aws.map(m => m.id), ['packer-version', 'aws-credentials'])
  t.match(describeMissing('amazon-ebs', aws), /packer 1\.6\.6 cannot log in to Ubuntu 24\.04 on EC2: install HashiCorp Packer >= 1\.8 .*SHA-1 \(ssh-rsa\), which OpenSSH 9 .* refuses/)
  const ok = await missingPrerequisites({ builder: 'null', env: { PATH: process.env.PATH, AVOTS_API_KEY: 'k-12345678' }, hosts: [], resolveHost: async () => {} })
  t.same(ok, [], 'the rehearsal needs packer and the key only')
})

t.test('hosts the bake needs', async t => {
  t.equal(registryHost('ghcr.io/openclaw/openclaw'), 'ghcr.io')
  t.equal(registryHost('127.0.0.1:5000/openclaw/openclaw'), '127.0.0.1')
  t.equal(registryHost('openclaw/openclaw'), 'registry-1.docker.io')
  t.equal(urlHost('https://cloud-images.ubuntu.com/x.img'), 'cloud-images.ubuntu.com')
  t.equal(urlHost('/srv/mirror/noble.img'), '')
  t.equal(urlHost('file:///srv/SHA256SUMS'), '')
})

t.test('release record: found, absent, corrupt', async t => {
  const root = dir(t)
  t.equal(readReleaseRecord(root, '2026.9.6'), null, 'no file')
  mkdirSync(join(root, 'catalog'))
  writeFileSync(join(root, 'catalog', 'releases.json'), JSON.stringify({ schemaVersion: 1, releases: [{ tag: 'v2026.9.6', publishedAt: '2026-11-20T10:00:00Z', url: 'u', urgency: 'routine', dueBy: '2026-11-27T10:00:00Z', advisories: [] }] }))
  t.match(readReleaseRecord(root, '2026.9.6'), { publishedAt: '2026-11-20T10:00:00.000Z', urgency: 'routine', url: 'u' })
  t.equal(readReleaseRecord(root, '2026.9.7'), null)
  writeFileSync(join(root, 'catalog', 'releases.json'), JSON.stringify({ schemaVersion: 1, releases: [{ tag: '2026.9.6', publishedAt: 'soon' }] }))
  t.throws(() => readReleaseRecord(root, '2026.9.6'), { name: 'ClawbakeError', rule: 'bake.releases-corrupt', field: '/releases/0/publishedAt' })
  writeFileSync(join(root, 'catalog', 'releases.json'), '{')
  t.throws(() => readReleaseRecord(root, '2026.9.6'), { name: 'ClawbakeError', rule: 'bake.releases-corrupt' })
})

t.test('error-cleanup staging needs the one top-level build block', async t => {
  t.match(withErrorCleanup('source "null" "x" {\n}\n\nbuild {\n  sources = []\n}\n', '  error-cleanup-provisioner "file" {\n  }\n'), /sources = \[\]\n\n  error-cleanup-provisioner "file" \{\n  \}\n\}\n$/)
  t.throws(() => withErrorCleanup('source "null" "x" {\n}\n', 'x'), { name: 'ClawbakeError', rule: 'bake.template-layout' })
})
