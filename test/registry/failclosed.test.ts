// Fail closed: a registry (here a loopback proxy in front of the real one)
// that lies about digests or media types, truncates bodies, hangs, throttles,
// redirects or points its token realm somewhere insecure. Every lie is
// refused with one clear error, and `clawbake pin` through it changes
// nothing on disk.
import t, { type Test } from 'tap'
import { copyFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { buildImage, imageRoot, pushImage, startRegistry, MEDIA } from '../support/registry.ts'
import { startRegistryProxy, type Lie } from '../standins/registry-liar.ts'
import { tempTree } from '../support/tree.ts'
import { clawbake } from '../support/cli.ts'
import { resolveImage } from '../../src/registry/resolve.ts'
import { RegistrySession } from '../../src/registry/session.ts'
import { TokenCache } from '../../src/registry/auth.ts'
import { ClawbakeError } from '../../src/errors.ts'
import { snapshotTree as snapshot } from '../support/tree.ts'

const FIXTURE = new URL('../fixtures/pins/docker-compose.yml', import.meta.url)

const reg = await startRegistry(t)
const root = imageRoot(t)
const current = buildImage(root, { tag: '2026.9.6', kind: 'oci-index', attestation: true })
const older = buildImage(root, { tag: '2026.9.5', kind: 'oci-index' })
await pushImage(current, reg.host)
await pushImage(older, reg.host)

async function proxy(t: Test, lie?: Lie, upstream = `http://${reg.host}`) {
  const p = await startRegistryProxy({ upstream, ...(lie ? { lie } : {}) })
  t.teardown(p.stop)
  return p
}

function session(env: Record<string, string | undefined> = {}, extra: { retries?: number; timeoutMs?: number; backoffMs?: number } = {}) {
  return new RegistrySession({ env, tokens: new TokenCache(), retries: 1, backoffMs: 20, ...extra })
}

async function refused(t: Test, p: Promise<unknown>, rule: string, mentions: string[] = []): Promise<ClawbakeError | null> {
  const e = await p.then(() => null, (e: unknown) => e)
  if (!(e instanceof ClawbakeError)) {
    t.fail(`expected a refusal with ${rule}, got ${String(e)}`)
    return null
  }
  t.equal(e.rule, rule, e.describe())
  for (const m of mentions) t.match(e.describe(), m)
  return e
}


function pinTree(t: Test): string {
  const dir = tempTree(t)
  mkdirSync(join(dir, 'packer', 'files'), { recursive: true })
  copyFileSync(FIXTURE, join(dir, 'packer', 'files', 'docker-compose.yml'))
  return dir
}

const lies: { name: string; lie: Lie; rule: string; mentions?: string[] }[] = [
  { name: 'header digest of other bytes (a stale cached digest)', lie: { kind: 'header-digest', digest: older.digest }, rule: 'registry.digest-mismatch', mentions: [older.digest] },
  { name: 'no Docker-Content-Digest at all (nothing to verify against)', lie: { kind: 'header-digest', digest: '' }, rule: 'registry.digest-missing' },
  { name: 'HEAD announces a stale digest, GET serves the current bytes', lie: { kind: 'head-digest', digest: older.digest }, rule: 'registry.digest-stale', mentions: [older.digest, current.digest] },
  { name: 'Content-Type says Docker v2 manifest for an OCI index', lie: { kind: 'content-type', contentType: MEDIA.dockerManifest }, rule: 'registry.media-type-mismatch' },
  { name: 'Content-Type says plain JSON', lie: { kind: 'content-type', contentType: 'application/json' }, rule: 'registry.media-type-unsupported' },
  { name: 'truncated body (consistent Content-Length)', lie: { kind: 'truncate', bytes: 40 }, rule: 'registry.digest-mismatch' },
  { name: 'connection cut mid-body', lie: { kind: 'cut-connection' }, rule: 'registry.network' },
]

for (const { name, lie, rule, mentions } of lies) {
  t.test(`lying registry: ${name}`, async t => {
    const p = await proxy(t, lie)
    const image = `${p.host}/openclaw/openclaw`
    await refused(t, resolveImage({ image, tag: '2026.9.6' }, { env: {}, session: session() }), rule, [`${image}:2026.9.6`, ...(mentions ?? [])])

    // the real command through the same liar: exit non-zero, not one byte changed
    const tree = pinTree(t)
    const before = snapshot(tree)
    const r = await clawbake(['pin', '2026.9.6', '--image', image, '--json'], { env: { CLAWBAKE_ROOT: tree, CLAWBAKE_REGISTRY_RETRIES: '1' } })
    t.not(r.code, 0, 'pin fails')
    t.equal(r.json().error.rule, rule, 'the --json error names the rule')
    t.same(snapshot(tree), before, 'nothing on disk changed (no temp files either)')
  })
}

t.test('an honest proxy passes, so the lies above are what fail', async t => {
  const p = await proxy(t)
  const r = await resolveImage({ image: `${p.host}/openclaw/openclaw`, tag: '2026.9.6' }, { env: {}, session: session() })
  t.equal(r.digest, current.digest)
  t.same(p.log.map(l => l.method), ['HEAD', 'GET'])
})

t.test('5xx and 429 are retried with backoff, honouring Retry-After', async t => {
  const p = await proxy(t, { kind: 'status', status: 503, times: 1, retryAfter: '1' })
  const started = Date.now()
  const r = await resolveImage({ image: `${p.host}/openclaw/openclaw`, tag: '2026.9.6' }, { env: {}, session: session({}, { retries: 2 }) })
  t.equal(r.digest, current.digest)
  t.ok(Date.now() - started >= 950, `waited for Retry-After: 1 (${Date.now() - started} ms)`)
  t.same(p.log.map(l => `${l.method} ${l.status}`), ['HEAD 503', 'HEAD 200', 'GET 200'])

  const q = await proxy(t, { kind: 'status', status: 429, times: 2 })
  const r2 = await resolveImage({ image: `${q.host}/openclaw/openclaw`, tag: '2026.9.6' }, { env: {}, session: session({}, { retries: 3 }) })
  t.equal(r2.digest, current.digest)
  t.equal(q.log.length, 4, 'two 429s, then HEAD and GET')
})

t.test('retries run out: one error naming image and tag', async t => {
  const p = await proxy(t, { kind: 'status', status: 500, times: 100 })
  await refused(t, resolveImage({ image: `${p.host}/openclaw/openclaw`, tag: '2026.9.6' }, { env: {}, session: session({}, { retries: 2 }) }), 'registry.unavailable', ['2026.9.6', 'HTTP 500', '3 attempts'])
  t.equal(p.log.length, 3)
  const q = await proxy(t, { kind: 'status', status: 429, times: 100, retryAfter: '3600' })
  const started = Date.now()
  await refused(t, resolveImage({ image: `${q.host}/openclaw/openclaw`, tag: '2026.9.6' }, { env: {}, session: session() }), 'registry.rate-limited', ['3600 s'])
  t.ok(Date.now() - started < 2000, 'does not sleep for an hour')
})

t.test('403 is a clear error naming image and tag, not retried', async t => {
  const p = await proxy(t, { kind: 'status', status: 403, times: 100 })
  await refused(t, resolveImage({ image: `${p.host}/openclaw/openclaw`, tag: '2026.9.6' }, { env: {}, session: session() }), 'registry.forbidden', [`${p.host}/openclaw/openclaw:2026.9.6`, 'HTTP 403'])
  t.equal(p.log.length, 1)
})

t.test('a registry that never answers times out', async t => {
  const p = await proxy(t, { kind: 'hang' })
  const started = Date.now()
  await refused(t, resolveImage({ image: `${p.host}/openclaw/openclaw`, tag: '2026.9.6' }, { env: {}, session: session({}, { retries: 1, timeoutMs: 300 }) }), 'registry.network', ['2026.9.6', '2 attempts'])
  t.ok(Date.now() - started < 5000, `gave up in ${Date.now() - started} ms`)
})

t.test('redirects never carry Authorization to another origin', async t => {
  // front: htpasswd registry behind a proxy that redirects manifest GETs to a
  // second origin (like a blob store with a signed URL) serving the same storage
  const ht = await startRegistry(t, { auth: 'htpasswd', storage: reg.storage })
  const store = await proxy(t, undefined, `http://${reg.host}`)
  const front = await proxy(t, { kind: 'redirect', to: store.origin }, `http://${ht.host}`)
  const env = { CLAWBAKE_REGISTRY_USER: ht.user, CLAWBAKE_REGISTRY_PASSWORD: ht.password }
  const r = await resolveImage({ image: `${front.host}/openclaw/openclaw`, tag: '2026.9.6' }, { env, session: session(env) })
  t.equal(r.digest, current.digest, 'resolved through the redirect')
  t.ok(front.log.some(l => l.authorization), 'the registry itself got the credentials')
  t.ok(store.log.length > 0, 'the other origin was asked')
  t.notOk(store.log.some(l => l.authorization), 'the other origin never saw Authorization')
})

t.test('a 401 challenge from a redirect target is not answered with our credentials', async t => {
  const ht = await startRegistry(t, { auth: 'htpasswd', storage: reg.storage })
  const tok = await startRegistry(t, { auth: 'token', storage: reg.storage })
  const store = await proxy(t, undefined, `http://${tok.host}`) // answers 401 + Bearer realm of its own
  const front = await proxy(t, { kind: 'redirect', to: store.origin }, `http://${ht.host}`)
  const env = { CLAWBAKE_REGISTRY_USER: ht.user, CLAWBAKE_REGISTRY_PASSWORD: ht.password }
  await refused(t, resolveImage({ image: `${front.host}/openclaw/openclaw`, tag: '2026.9.6' }, { env, session: session(env) }), 'registry.unauthorized', ['redirect target'])
  t.equal(tok.token!.log.length, 0, 'the foreign realm was never asked, so it never saw the credentials')
  t.notOk(store.log.some(l => l.authorization))
})

t.test('http is for loopback only: token realms and redirects to other hosts are refused before any request', async t => {
  const tok = await startRegistry(t, { auth: 'token', storage: reg.storage })
  const realm = await proxy(t, { kind: 'realm', realm: 'http://registry.example.invalid/token' }, `http://${tok.host}`)
  await refused(t, resolveImage({ image: `${realm.host}/openclaw/openclaw`, tag: '2026.9.6' }, { env: {}, session: session() }), 'registry.insecure-realm', ['registry.example.invalid'])
  // the redirect lie fires on authorized GETs only; give it credentials to carry
  const ht = await startRegistry(t, { auth: 'htpasswd', storage: reg.storage })
  const front = await proxy(t, { kind: 'redirect', to: 'http://blobs.example.invalid' }, `http://${ht.host}`)
  const env = { CLAWBAKE_REGISTRY_USER: ht.user, CLAWBAKE_REGISTRY_PASSWORD: ht.password }
  await refused(t, resolveImage({ image: `${front.host}/openclaw/openclaw`, tag: '2026.9.6' }, { env, session: session(env) }), 'registry.insecure-redirect', ['blobs.example.invalid'])
})
