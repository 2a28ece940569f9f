// `clawbake pin` end to end: the real binary, the real registry in token mode,
// a temp copy of the project tree with a fixture compose file. Checks the
// bytes that change (and those that must not), the lock, the CHANGELOG line,
// idempotence, refusals that leave the disk alone, and that credentials never
// leak into output or files.
import t, { type Test } from 'tap'
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { buildImage, imageRoot, pushImage, skopeoRawDigest, startRegistry } from '../support/registry.ts'
import { tempTree } from '../support/tree.ts'
import { clawbake } from '../support/cli.ts'
import { readPinRecord } from '../../src/pins/record.ts'
import { pinRelease } from '../../src/pins/pin.ts'
import { pinComment } from '../../src/pins/compose.ts'
import { ClawbakeError } from '../../src/errors.ts'
import { snapshotTree as snapshot } from '../support/tree.ts'

const COMPOSE = join('packer', 'files', 'docker-compose.yml')
const fixture = (name: string) => new URL(`../fixtures/pins/${name}`, import.meta.url)

const open = await startRegistry(t)
const root = imageRoot(t)
const v6 = buildImage(root, { tag: '2026.9.6', kind: 'oci-index', attestation: true })
const v7 = buildImage(root, { tag: '2026.9.7', kind: 'docker-list' })
const beta = buildImage(root, { tag: '2026.9.12-beta.1', kind: 'oci-index' })
for (const img of [v6, v7, beta]) await pushImage(img, open.host)
const reg = await startRegistry(t, { auth: 'token', storage: open.storage })

function pinTree(t: Test, compose = 'docker-compose.yml'): string {
  const dir = tempTree(t)
  mkdirSync(join(dir, 'packer', 'files'), { recursive: true })
  copyFileSync(fixture(compose), join(dir, COMPOSE))
  return dir
}


function diffLines(a: string, b: string): number[] {
  const x = a.split('\n')
  const y = b.split('\n')
  return Array.from({ length: Math.max(x.length, y.length) }, (_, i) => i).filter(i => x[i] !== y[i]).map(i => i + 1)
}

const read = (dir: string, f: string) => readFileSync(join(dir, f), 'utf8')

t.test('pin: resolve, patch compose + lock + CHANGELOG; the second run changes no byte', async t => {
  const tree = pinTree(t)
  const before = snapshot(tree)
  const r = await clawbake(['pin', '2026.9.6', '--image', reg.image, '--json'], { env: { CLAWBAKE_ROOT: tree } })
  t.equal(r.code, 0, r.stderr)
  const out = r.json()
  t.same(out, { changed: true, tag: '2026.9.6', digest: v6.digest, files: [COMPOSE, 'pins.lock.json', 'CHANGELOG.md'] })
  t.equal(out.digest, await skopeoRawDigest(reg.host, '2026.9.6'), 'the pinned digest is the one skopeo sees')

  const compose = read(tree, COMPOSE)
  t.same(diffLines(before.get(COMPOSE)!, compose), [6, 21, 29], 'only the pin comment and the two image lines')
  t.equal(compose.split('\n')[5], pinComment('2026.9.6', v6.digest, new Date().toISOString().slice(0, 10)))
  t.equal(compose.split('\n')[20], `    image: ghcr.io/openclaw/openclaw:2026.9.6@${v6.digest}   # pinned`)

  const lock = readPinRecord(join(tree, 'pins.lock.json'))
  t.equal(lock.image, 'ghcr.io/openclaw/openclaw', 'the lock names the image the VM pulls')
  t.equal(lock.resolvedFrom, reg.image, 'and where the digest was verified')
  t.equal(lock.tag, '2026.9.6')
  t.equal(lock.digest, v6.digest)
  t.equal(lock.mediaType, 'application/vnd.oci.image.index.v1+json')
  t.same(lock.platforms, v6.platforms)
  t.equal(lock.sourceRelease, 'https://github.com/openclaw/openclaw/releases/tag/v2026.9.6')
  t.equal(lock.note, undefined, 'the seed note is gone')
  t.equal(lock.verified, undefined)

  const changelog = read(tree, 'CHANGELOG.md')
  const bullet = `- Pinned OpenClaw 2026.9.6 (\`ghcr.io/openclaw/openclaw@${v6.digest}\`), resolved ${lock.resolvedAt.slice(0, 10)}; release: https://github.com/openclaw/openclaw/releases/tag/v2026.9.6`
  const oldLines = before.get('CHANGELOG.md')!.split('\n')
  const added = changelog.split('\n').filter(l => !oldLines.includes(l))
  t.ok(added.includes(bullet), 'the pin bullet was added')
  t.same(added.filter(l => l && l !== '### Changed' && l !== bullet), [], 'nothing else but (maybe) a ### Changed heading')
  t.same(oldLines.filter(l => !changelog.split('\n').includes(l)), [], 'no line removed')
  const unreleased = changelog.indexOf('## [Unreleased]')
  const nextRelease = changelog.indexOf('\n## ', unreleased + 1)
  t.ok(changelog.indexOf(bullet) > unreleased && (nextRelease < 0 || changelog.indexOf(bullet) < nextRelease), 'under Unreleased')

  const after = snapshot(tree)
  const again = await clawbake(['pin', '2026.9.6', '--image', reg.image, '--json'], { env: { CLAWBAKE_ROOT: tree } })
  t.equal(again.code, 0, again.stderr)
  t.same(again.json(), { changed: false, tag: '2026.9.6', digest: v6.digest, files: [] })
  t.same(snapshot(tree), after, 'not one byte changed')
  t.match(again.stderr, 'nothing changed')

  // a newer release: the images, comment and lock move; the CHANGELOG bullet is replaced
  const next = await clawbake(['pin', '2026.9.7', '--image', reg.image, '--json'], { env: { CLAWBAKE_ROOT: tree } })
  t.equal(next.code, 0, next.stderr)
  t.equal(next.json().digest, v7.digest)
  t.same(diffLines(after.get(COMPOSE)!, read(tree, COMPOSE)), [6, 21, 29])
  t.equal(readPinRecord(join(tree, 'pins.lock.json')).mediaType, 'application/vnd.docker.distribution.manifest.list.v2+json')
  t.notMatch(read(tree, 'CHANGELOG.md'), 'Pinned OpenClaw 2026.9.6', 'one pin bullet per Unreleased period')
  t.match(read(tree, 'CHANGELOG.md'), `Pinned OpenClaw 2026.9.7 (\`ghcr.io/openclaw/openclaw@${v7.digest}\`)`)
})

t.test('--digest pins without a registry, marks the lock unverified, and still refuses malformed digests', async t => {
  const tree = pinTree(t)
  const before = snapshot(tree)
  for (const bad of ['sha256:abc', 'sha256:' + 'A'.repeat(64), 'sha512:' + 'a'.repeat(64), 'a'.repeat(64)]) {
    const r = await clawbake(['pin', '2026.9.6', '--digest', bad, '--json'], { env: { CLAWBAKE_ROOT: tree } })
    t.equal(r.code, 2, `${bad}: exit 2`)
    t.equal(r.json().error.rule, 'pin.digest-malformed')
  }
  t.same(snapshot(tree), before, 'nothing written for malformed digests')
  const d = 'sha256:' + 'ef'.repeat(32)
  const r = await clawbake(['pin', '2026.9.6', '--digest', d, '--json'], { env: { CLAWBAKE_ROOT: tree } })
  t.equal(r.code, 0, r.stderr)
  t.same(r.json().files, [COMPOSE, 'pins.lock.json', 'CHANGELOG.md'])
  const lock = readPinRecord(join(tree, 'pins.lock.json'))
  t.equal(lock.verified, false)
  t.same(lock.platforms, [])
  t.match(lock.note, 're-verify before bake')
  t.match(read(tree, COMPOSE), `ghcr.io/openclaw/openclaw:2026.9.6@${d}`)
  // verifying later replaces the unverified record, even with the same tag
  const verified = await clawbake(['pin', '2026.9.6', '--image', reg.image, '--json'], { env: { CLAWBAKE_ROOT: tree } })
  t.equal(verified.json().changed, true)
  t.equal(readPinRecord(join(tree, 'pins.lock.json')).verified, undefined)
})

t.test('refusals change nothing on disk', async t => {
  const tree = pinTree(t)
  const before = snapshot(tree)
  const cases: [string[], number, string][] = [
    [['pin', '2026.9.12-beta.1', '--image', reg.image], 1, 'resolve.prerelease'],
    [['pin', '2026.9.12-beta.1', '--digest', 'sha256:' + 'a'.repeat(64)], 1, 'resolve.prerelease'],
    [['pin', '2026.1.28', '--digest', 'sha256:' + 'a'.repeat(64), '--allow-prerelease'], 1, 'resolve.below-floor'],
    [['pin', 'latest', '--image', reg.image], 2, 'version.malformed'],
    [['pin', '2026.9.30', '--image', reg.image], 1, 'registry.not-found'],
    [['pin', '2026.9.6', '--image', 'openclaw/openclaw'], 2, 'registry.image-ref'],
  ]
  for (const [args, code, rule] of cases) {
    const r = await clawbake([...args, '--json'], { env: { CLAWBAKE_ROOT: tree } })
    t.equal(r.code, code, `${args.join(' ')}: exit ${code}`)
    t.equal(r.json().error.rule, rule, `${args.join(' ')}: ${r.stderr.trim()}`)
  }
  t.same(snapshot(tree), before)

  const disagree = pinTree(t)
  const text = read(disagree, COMPOSE).replace(/openclaw:2026\.6\.1(@sha256:1+)\n/, 'openclaw:2026.6.2$1\n')
  const { writeFileSync } = await import('node:fs')
  writeFileSync(join(disagree, COMPOSE), text)
  const snap = snapshot(disagree)
  const r = await clawbake(['pin', '2026.9.6', '--image', reg.image, '--json'], { env: { CLAWBAKE_ROOT: disagree } })
  t.equal(r.code, 1)
  t.same(r.json().error, { rule: 'pin.compose-disagree', file: join(disagree, COMPOSE), field: 'services.openclaw-cli.image', message: r.json().error.message })
  t.match(r.stderr, 'openclaw-gateway runs ghcr.io/openclaw/openclaw:2026.6.1')
  t.same(snapshot(disagree), snap, 'the registry was fine, the compose was not: nothing written')

  const sidecar = pinTree(t, 'docker-compose.unpinned-sidecar.yml')
  const snap2 = snapshot(sidecar)
  const s = await clawbake(['pin', '2026.9.6', '--image', reg.image, '--json'], { env: { CLAWBAKE_ROOT: sidecar } })
  t.equal(s.code, 1)
  t.equal(s.json().error.field, 'services.sandbox.image')
  t.same(snapshot(sidecar), snap2)
})

t.test('pinRelease refuses an image of another repository and a missing compose', async t => {
  const tree = pinTree(t)
  const before = snapshot(tree)
  const resolved = { image: `${reg.host}/someone/openclaw`, tag: '2026.9.6', digest: v6.digest, mediaType: v6.mediaType, platforms: v6.platforms }
  const rule = (p: Promise<unknown>) => p.then(() => 'resolved', (e: unknown) => e instanceof ClawbakeError ? e.rule : String(e))
  t.equal(await rule(pinRelease(resolved, { root: tree, now: new Date() })), 'pin.wrong-repository')
  const empty = tempTree(t, ['pins.lock.json', 'CHANGELOG.md'])
  t.equal(await rule(pinRelease({ ...resolved, image: 'ghcr.io/openclaw/openclaw' }, { root: empty, now: new Date() })), 'pin.compose-missing')
  t.same(snapshot(tree), before)
})

t.test('credentials never leak into output or written files', async t => {
  const ht = await startRegistry(t, { auth: 'htpasswd', storage: open.storage, password: 'S3cret-registry-password-0451' })
  const tree = pinTree(t)
  const env = { CLAWBAKE_ROOT: tree, CLAWBAKE_REGISTRY_USER: ht.user, CLAWBAKE_REGISTRY_PASSWORD: ht.password }
  const ok = await clawbake(['pin', '2026.9.6', '--image', ht.image, '--json'], { env })
  t.equal(ok.code, 0, ok.stderr)
  const bad = await clawbake(['resolve', '2026.9.6', '--image', ht.image, '--json'], { env: { ...env, CLAWBAKE_REGISTRY_PASSWORD: 'Wr0ng-password-9731' } })
  t.equal(bad.code, 2)
  const basic = Buffer.from(`${ht.user}:${ht.password}`).toString('base64')
  for (const secret of [ht.password, 'Wr0ng-password-9731', basic]) {
    for (const [name, text] of [['pin stdout', ok.stdout], ['pin stderr', ok.stderr], ['resolve stdout', bad.stdout], ['resolve stderr', bad.stderr], ...snapshot(tree)] as [string, string][]) {
      t.notOk(text.includes(secret), `${name} does not contain the secret`)
    }
  }
})

t.test('the shipped compose file patches cleanly too', async t => {
  const tree = tempTree(t)
  const src = read(tree, COMPOSE)
  const resolved = { image: 'ghcr.io/openclaw/openclaw', tag: '2026.9.6', digest: v6.digest, mediaType: v6.mediaType, platforms: v6.platforms }
  const r = await pinRelease(resolved, { root: tree, now: new Date('2026-11-25T12:00:00Z') })
  t.equal(r.changed, true, 'a test digest differs from the shipped pin')
  t.ok(r.files.includes(COMPOSE))
  const out = read(tree, COMPOSE)
  const image = `ghcr.io/openclaw/openclaw:2026.9.6@${v6.digest}`
  t.equal(out.split('\n').filter(l => l.trim() === `image: ${image}`).length, 2, 'both OpenClaw image lines')
  t.same(out.split('\n').filter(l => l.startsWith('# clawbake-pin:')), [pinComment('2026.9.6', v6.digest, '2026-11-25')], 'exactly one pin comment, rewritten')
  // apart from the pin comment and the two OpenClaw image values, byte-identical
  const normal = (text: string) => text.split('\n').filter(l => !l.startsWith('# clawbake-pin:')).map(l => l.replace(/ghcr\.io\/openclaw\/openclaw:[^\s"']+/, 'OPENCLAW')).join('\n')
  t.equal(normal(out), normal(src))
  const again = await pinRelease(resolved, { root: tree, now: new Date('2026-12-25T12:00:00Z') })
  t.equal(again.changed, false)
  t.equal(read(tree, COMPOSE), out)
})
