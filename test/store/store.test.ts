// The image store against the real docker-registry on loopback: push on
// publish (token auth with push scope, htpasswd), annotations, skipping
// blobs the registry has, verification, channel tags moved last; the lying
// proxy cutting uploads and downloads, answering a wrong digest, flipping a
// byte; `clawbake image pull`, `channel set` and `revoke` through the real CLI.
import t, { type Test } from 'tap'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { runOk } from '../../src/proc/run.ts'
import { publishImage } from '../../src/publish/publish.ts'
import { currentIndex, readCatalog } from '../../src/publish/catalog.ts'
import { GATE_IDS } from '../../src/gates/gate.ts'
import { ANNOTATION, describeDisk } from '../../src/store/disk-image.ts'
import { startRegistry, type Registry } from '../support/registry.ts'
import { startRegistryProxy, type Lie } from '../standins/registry-liar.ts'
import { tempTree, snapshotTree } from '../support/tree.ts'
import { bakedDisk, cli, publishInput, pushEnv, moveDisk } from './helpers.ts'
import { schemaValidator } from '../../src/schema/validate.ts'

const REPO = 'owner/clawbake-images'
const reg = await startRegistry(t, { auth: 'token' })

async function proxy(t: Test, lie?: Lie, upstream: Registry = reg) {
  const p = await startRegistryProxy({ upstream: `http://${upstream.host}`, ...(lie ? { lie } : {}) })
  t.teardown(p.stop)
  return p
}

/** The manifest digest a tag points at, asked of skopeo (not of clawbake). */
async function skopeoDigest(host: string, tag: string, r: Registry = reg): Promise<string | null> {
  const res = await runOk('skopeo', ['inspect', '--tls-verify=false', '--creds', `${r.user}:${r.password}`, '--format', '{{.Digest}}', `docker://${host}/${REPO}:${tag}`]).catch(() => null)
  return res ? res.stdout.trim() : null
}

/** Bake `bakeId` in `root` (a real qcow2) and publish it to `host`. */
async function bakeAndPublish(root: string, bakeId: string, host: string, over: Parameters<typeof publishInput>[4] = {}, r: Registry = reg) {
  const file = existsSync(join(root, '.clawbake', 'artifacts', bakeId, 'clawbake.qcow2')) ? join(root, '.clawbake', 'artifacts', bakeId, 'clawbake.qcow2') : await bakedDisk(root, bakeId)
  const d = await describeDisk(file)
  return await publishImage(publishInput(root, bakeId, d.sha256, d.size, { imageRepo: `${host}/${REPO}`, bootTestPassed: true, env: pushEnv(r), ...over }))
}

t.test('publish pushes a containerDisk image, verifies it, records it, moves the channel last; pull gets the same bytes', async t => {
  const root = tempTree(t)
  const p = await proxy(t)
  const r = await bakeAndPublish(root, '2026.9.6-b1', p.host)
  const disk = await describeDisk(join(root, '.clawbake/artifacts/2026.9.6-b1/clawbake.qcow2'))
  t.ok(r.moved, 'the channel moved')
  t.match(r.entry.store, { repository: `${p.host}/${REPO}`, tag: '2026.9.6-b1', sha256: disk.sha256, sizeBytes: disk.size, layerDigest: disk.digest })
  t.equal(r.entry.store?.reference, `${p.host}/${REPO}:2026.9.6-b1@${r.entry.store?.manifestDigest}`)
  const catalog = readCatalog(root, 'stable')
  t.ok(schemaValidator('catalog.schema.json')(catalog), 'catalog matches its schema')
  t.equal(currentIndex(catalog), 0)
  t.match(catalog.events, [{ action: 'publish', entry: 0, who: 'oncall-alice', manifestDigest: r.entry.store?.manifestDigest }])

  // skopeo, not clawbake, says what the tags point at, and reads the annotations
  t.equal(await skopeoDigest(reg.host, '2026.9.6-b1'), r.entry.store?.manifestDigest)
  t.equal(await skopeoDigest(reg.host, 'stable'), r.entry.store?.manifestDigest, 'the channel tag names the image')
  const raw = JSON.parse((await runOk('skopeo', ['inspect', '--raw', '--tls-verify=false', '--creds', `${reg.user}:${reg.password}`, `docker://${reg.host}/${REPO}:stable`])).stdout)
  t.match(raw.annotations, {
    [ANNOTATION.openclawTag]: '2026.9.6', [ANNOTATION.channel]: 'stable', [ANNOTATION.bakeId]: '2026.9.6-b1',
    [ANNOTATION.diskSha256]: disk.sha256, [ANNOTATION.gates]: new RegExp(`^${GATE_IDS.length}/${GATE_IDS.length} passed: config-valid`), [ANNOTATION.openclawDigest]: /^sha256:/,
  })
  t.same(raw.layers.map((l: { mediaType: string }) => l.mediaType), ['application/vnd.oci.image.layer.v1.tar'])

  // chunked: POST, several PATCHes with Content-Range, PUT ?digest=, then HEAD every blob and GET the manifest
  const patches = p.log.filter(e => e.method === 'PATCH')
  t.ok(patches.length >= 6, `the ${disk.size >> 20} MiB layer went up in 4 MiB chunks (${patches.length} PATCHes)`)
  t.ok(p.log.some(e => e.method === 'PUT' && /\/blobs\/uploads\/.*digest=sha256/.test(e.path)))
  const afterPut = p.log.slice(p.log.findIndex(e => e.method === 'PUT' && e.path.includes('/manifests/2026.9.6-b1')))
  t.ok(afterPut.filter(e => e.method === 'HEAD' && e.path.includes('/blobs/')).length >= 2, 'HEAD of every blob after the push')
  t.ok(afterPut.some(e => e.method === 'GET' && e.path.endsWith('/manifests/2026.9.6-b1')), 'GET of the manifest after the push')
  t.ok(reg.token!.log.some(l => l.user === reg.user && l.scopes.includes(`repository:${REPO}:pull,push`)), 'a token with push scope')

  // a re-push of the unchanged qcow2 (another bake of the same bytes) sends no blob again
  moveDisk(root, '2026.9.6-b1', '2026.9.6-b2')
  const before = p.log.length
  const again = await bakeAndPublish(root, '2026.9.6-b2', p.host)
  const sent = p.log.slice(before).reduce((n, e) => n + e.requestBytes, 0)
  t.equal(again.push?.blobsSkipped, 2, 'both blobs were already there')
  t.ok(sent < 4096, `only the manifest went up (${sent} bytes)`)
  t.equal(p.log.slice(before).filter(e => e.method === 'PATCH').length, 0)

  // image pull of the channel: verified, atomic, the same bytes
  const out = join(root, 'pulled.qcow2')
  const pulled = await cli(root, ['image', 'pull', 'stable', '--out', out, '--json'])
  t.equal(pulled.code, 0, pulled.stderr)
  t.match(pulled.json(), { ok: true, sha256: disk.sha256, manifestDigest: again.entry.store?.manifestDigest, resumedFrom: 0 })
  t.equal((await describeDisk(out)).sha256, disk.sha256)
  t.match(pulled.stderr, /pull: 100% /, 'plain progress lines off a terminal')
  t.same(readdirSync(root).filter(f => f.includes('partial')), [], 'no partial file left')
  const check = await runOk('qemu-img', ['check', out])
  t.match(check.stdout, /No errors were found/, 'qemu-img reads the pulled image')
})

t.test('htpasswd: basic auth from the environment; without credentials the push is refused and nothing recorded', async t => {
  const basic = await startRegistry(t, { auth: 'htpasswd' })
  const root = tempTree(t)
  await bakedDisk(root, '2026.9.6-h1')
  const d = await describeDisk(join(root, '.clawbake/artifacts/2026.9.6-h1/clawbake.qcow2'))
  const before = snapshotTree(root)
  await t.rejects(publishImage(publishInput(root, '2026.9.6-h1', d.sha256, d.size, { imageRepo: `${basic.host}/${REPO}`, bootTestPassed: true, env: {} })), { name: 'ClawbakeError', rule: 'registry.unauthorized', exitCode: 2 })
  t.same(snapshotTree(root), before, 'nothing written')
  const r = await bakeAndPublish(root, '2026.9.6-h1', basic.host, {}, basic)
  t.equal(await skopeoDigest(basic.host, 'stable', basic), r.entry.store?.manifestDigest)
  const pulled = await cli(root, ['image', 'pull', '2026.9.6-h1', '--json'], { CLAWBAKE_REGISTRY_USER: basic.user, CLAWBAKE_REGISTRY_PASSWORD: basic.password })
  t.equal(pulled.code, 0, pulled.stderr)
  t.equal(pulled.json().out, join(root, '2026.9.6-h1.qcow2'))
  t.notMatch(pulled.stderr + pulled.stdout, basic.password, 'the password is never printed')
  const anonymous = await cli(root, ['image', 'pull', '2026.9.6-h1', '--out', join(root, 'x.qcow2'), '--json'])
  t.equal(anonymous.code, 2)
  t.equal(anonymous.json().error.rule, 'registry.unauthorized')
})

t.test('a connection cut mid-upload resumes from the offset the registry reports', async t => {
  const root = tempTree(t)
  const p = await proxy(t, { kind: 'cut-upload', at: 'start', times: 2 })
  const r = await bakeAndPublish(root, '2026.9.6-c1', p.host)
  t.equal(r.push?.resumes, 2, 'resumed twice')
  t.equal(r.push?.restarts, 0, 'never started over')
  t.ok(p.log.filter(e => e.method === 'GET' && e.path.includes('/blobs/uploads/')).length >= 2, 'asked the registry where the upload stands')
  t.equal(await skopeoDigest(reg.host, '2026.9.6-c1'), r.entry.store?.manifestDigest)

  // half a chunk reached the registry: distribution 2.8 then cancels the upload once its size no longer matches
  // the client's state (it may first report the half it has, then refuse the next PATCH), so clawbake starts a
  // new upload and still ends verified
  const root2 = tempTree(t)
  const p2 = await proxy(t, { kind: 'cut-upload', at: 'middle', times: 1 })
  const r2 = await bakeAndPublish(root2, '2026.9.6-c2', p2.host)
  t.ok((r2.push?.resumes ?? 0) + (r2.push?.restarts ?? 0) >= 1, `recovered (resumes ${r2.push?.resumes}, restarts ${r2.push?.restarts})`)
  t.equal(await skopeoDigest(reg.host, '2026.9.6-c2'), r2.entry.store?.manifestDigest)
})

t.test('a registry that answers a wrong digest is refused, and the channel does not move', async t => {
  const root = tempTree(t)
  const first = await bakeAndPublish(root, '2026.9.6-w1', reg.host)
  const good = first.entry.store!.manifestDigest
  const p = await proxy(t, { kind: 'header-digest', digest: good })
  const before = snapshotTree(root)
  await t.rejects(bakeAndPublish(root, '2026.9.6-w2', p.host), { name: 'ClawbakeError', rule: 'registry.digest-mismatch', exitCode: 1 })
  t.notOk(p.log.some(e => e.method === 'PUT' && e.path.endsWith('/manifests/stable')), 'the channel tag was never touched')
  t.equal(await skopeoDigest(reg.host, 'stable'), good, 'stable still names the previous image')
  const after = snapshotTree(root)
  for (const [f, bytes] of before) if (f.startsWith('catalog/') || f === 'CHANGELOG.md') t.equal(after.get(f), bytes, `${f} unchanged`)
  t.equal(readCatalog(root, 'stable').entries.length, 1, 'no entry recorded')
})

t.test('the boot test not passed: pushed, verified, recorded held; the channel stays; image push completes a held bake', async t => {
  const root = tempTree(t)
  const first = await bakeAndPublish(root, '2026.9.6-k1', reg.host)
  const held = await bakeAndPublish(root, '2026.9.6-k2', reg.host, { bootTestPassed: false })
  t.equal(held.moved, false)
  t.equal(held.entry.held, true)
  t.ok(held.entry.store, 'in the store and verified')
  t.equal(currentIndex(readCatalog(root, 'stable')), 0, 'the channel is where it was')
  t.equal(await skopeoDigest(reg.host, 'stable'), first.entry.store?.manifestDigest)
  t.match(readFileSync(join(root, 'catalog/notes/2026.9.6.md'), 'utf8'), /held: the stable channel did not move to it/)

  // no image store at bake time (the CI bake job has no packages: write): held, no store; the publish job pushes it
  const noStore = await bakeAndPublish(root, '2026.9.6-k3', reg.host, { imageRepo: null })
  t.notOk(noStore.entry.store)
  t.equal(noStore.entry.held, true)
  const pushed = await cli(root, ['image', 'push', '--bake-id', '2026.9.6-k3', '--image-repo', `${reg.host}/${REPO}`, '--boot-test-passed', '--json'], pushEnv(reg))
  t.equal(pushed.code, 0, pushed.stderr)
  t.match(pushed.json(), { ok: true, moved: true, store: { tag: '2026.9.6-k3' } })
  const catalog = readCatalog(root, 'stable')
  t.equal(currentIndex(catalog), 2)
  t.equal(await skopeoDigest(reg.host, 'stable'), catalog.entries[2]?.store?.manifestDigest)
  t.notMatch(pushed.stderr + pushed.stdout, reg.password, 'the password is never printed')
})

t.test('an interrupted pull resumes: within the run, and across runs from the partial file', async t => {
  const root = tempTree(t)
  const p = await proxy(t)
  const r = await bakeAndPublish(root, '2026.9.6-p1', p.host)
  const sha = r.entry.store!.sha256
  // in one run: the connection drops after 3 MiB, the pull goes on with Range
  p.lie = { kind: 'cut-blob', bytes: 3 << 20, times: 1 }
  const once = await cli(root, ['image', 'pull', 'stable', '--out', join(root, 'a.qcow2'), '--json'])
  t.equal(once.code, 0, once.stderr)
  t.match(once.json(), { resumes: 1, sha256: sha })
  t.ok(p.log.some(e => e.method === 'GET' && e.path.includes('/blobs/')), 'blob fetched through the cutting proxy')

  // across runs: the connection drops and this run may not retry, so it gives up (exit 2) and keeps what it has;
  // the next run resumes there
  p.lie = { kind: 'cut-blob', bytes: 5 << 20, times: 1 }
  const broken = await cli(root, ['image', 'pull', 'stable', '--out', join(root, 'b.qcow2'), '--json'], { CLAWBAKE_REGISTRY_RETRIES: '0' })
  t.equal(broken.code, 2, broken.stderr)
  t.notOk(existsSync(join(root, 'b.qcow2')), 'no half image at --out')
  t.ok(existsSync(join(root, '.b.qcow2.partial')), 'the partial download is kept')
  p.lie = null
  const resumed = await cli(root, ['image', 'pull', 'stable', '--out', join(root, 'b.qcow2'), '--json'])
  t.equal(resumed.code, 0, resumed.stderr)
  const j = resumed.json()
  t.ok(j.resumedFrom > 0, `resumed at ${j.resumedFrom} bytes`)
  t.ok(j.bytesDownloaded < r.entry.store!.sizeBytes, 'did not download it all again')
  t.equal(j.sha256, sha)
  t.equal((await describeDisk(join(root, 'b.qcow2'))).sha256, sha)
  t.notOk(existsSync(join(root, '.b.qcow2.partial')))
})

t.test('a tampered blob is refused and nothing is written', async t => {
  const root = tempTree(t)
  const p = await proxy(t, { kind: 'tamper-blob' })
  await bakeAndPublish(root, '2026.9.6-t1', p.host)
  const r = await cli(root, ['image', 'pull', 'stable', '--out', join(root, 'x.qcow2'), '--json'])
  t.equal(r.code, 1, r.stderr)
  t.equal(r.json().error.rule, 'store.digest-mismatch')
  t.match(r.json().error.message, /nothing was written/)
  t.notOk(existsSync(join(root, 'x.qcow2')))
  t.same(readdirSync(root).filter(f => f.includes('partial')), [], 'the tampered bytes are thrown away')
})

t.test('rollback and revoke round-trips on the real registry', async t => {
  const root = tempTree(t)
  const a = await bakeAndPublish(root, '2026.9.6-r1', reg.host)
  const b = await bakeAndPublish(root, '2026.9.6-r2', reg.host)
  const [da, db] = [a.entry.store!.manifestDigest, b.entry.store!.manifestDigest]
  t.equal(await skopeoDigest(reg.host, 'stable'), db)

  const noReason = await cli(root, ['channel', 'set', 'stable', '2026.9.6-r1', '--json'], pushEnv(reg))
  t.equal(noReason.code, 2)
  t.equal(noReason.json().error.rule, 'channel.reason-required')

  const back = await cli(root, ['channel', 'set', 'stable', '2026.9.6-r1', '--reason', 'r2 breaks Telegram DMs', '--json'], pushEnv(reg))
  t.equal(back.code, 0, back.stderr)
  t.match(back.json(), { ok: true, channel: 'stable', store: { manifestDigest: da }, previous: { manifestDigest: db }, event: { action: 'set', who: 'oncall-alice', reason: 'r2 breaks Telegram DMs' } })
  t.equal(await skopeoDigest(reg.host, 'stable'), da, 'rolled back on the registry')
  t.equal(currentIndex(readCatalog(root, 'stable')), 0, 'and in the catalog')

  const forward = await cli(root, ['channel', 'set', 'stable', db, '--reason', 'fixed by config', '--json'], pushEnv(reg, { GITHUB_ACTOR: '' , USER: 'bob' }))
  t.equal(forward.code, 0, forward.stderr)
  t.equal(forward.json().event.who, 'bob', 'who: USER when GITHUB_ACTOR is not set')
  t.equal(await skopeoDigest(reg.host, 'stable'), db)

  const revoked = await cli(root, ['revoke', '2026.9.6-r2', '--reason', 'CVE in the bundled plugin', '--json'], pushEnv(reg))
  t.equal(revoked.code, 0, revoked.stderr)
  t.match(revoked.json(), { wasCurrent: true, fallback: { manifestDigest: da }, events: [{ action: 'revoke' }, { action: 'fallback' }] })
  t.equal(await skopeoDigest(reg.host, 'stable'), da, 'the channel fell back to the newest image not revoked')
  t.match(readFileSync(join(root, 'catalog/notes/2026.9.6.md'), 'utf8'), /\*\*REVOKED\*\* .* by oncall-alice: CVE in the bundled plugin/)
  const catalog = readCatalog(root, 'stable')
  t.ok(schemaValidator('catalog.schema.json')(catalog))
  t.same(catalog.events?.map(e => e.action), ['publish', 'publish', 'set', 'set', 'revoke', 'fallback'])

  // a revoked image stays out: no pull, no channel set, no re-publish of its bytes without --force
  const pull = await cli(root, ['image', 'pull', db, '--out', join(root, 'r.qcow2'), '--json'])
  t.equal(pull.code, 1)
  t.equal(pull.json().error.rule, 'store.revoked')
  const set = await cli(root, ['channel', 'set', 'stable', '2026.9.6-r2', '--reason', 'oops', '--json'], pushEnv(reg))
  t.equal(set.code, 1)
  t.equal(set.json().error.rule, 'channel.revoked')
  moveDisk(root, '2026.9.6-r2', '2026.9.6-r3')
  await t.rejects(bakeAndPublish(root, '2026.9.6-r3', reg.host), { name: 'ClawbakeError', rule: 'publish.revoked' })
  const forced = await bakeAndPublish(root, '2026.9.6-r3', reg.host, { force: true })
  t.ok(forced.moved, '--force publishes it again')

  // sla shows the revocation
  const sla = await cli(root, ['sla', '--json'])
  t.equal(sla.code, 0, sla.stderr)
  t.match(sla.json().revocations, [{ channel: 'stable', tag: '2026.9.6', image: '2026.9.6-r2', who: 'oncall-alice', reason: 'CVE in the bundled plugin', manifestDigest: db }])
  const text = await cli(root, ['sla'])
  t.match(text.stderr, /revoked: stable 2026\.9\.6-r2 .* by oncall-alice: CVE in the bundled plugin/)
})
