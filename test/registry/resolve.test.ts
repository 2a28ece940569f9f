// resolveImage against the real registry (docker-registry 2.8 on loopback),
// images built from scratch and pushed with skopeo; every digest is checked
// against `skopeo inspect --raw | sha256sum` and against the bytes we built.
import t, { type Test } from 'tap'
import { buildImage, imageRoot, pushImage, skopeoRawDigest, startRegistry, MEDIA, type BuiltImage } from '../support/registry.ts'
import { resolveImage } from '../../src/registry/resolve.ts'
import { RegistrySession } from '../../src/registry/session.ts'
import { TokenCache } from '../../src/registry/auth.ts'
import { ClawbakeError } from '../../src/errors.ts'

const reg = await startRegistry(t)
const root = imageRoot(t)
const images: Record<string, BuiltImage> = {
  index: buildImage(root, { tag: '2026.9.6', kind: 'oci-index', attestation: true }),
  single: buildImage(root, { tag: '2026.9.7', kind: 'oci-single' }),
  dockerList: buildImage(root, { tag: '2026.9.8', kind: 'docker-list' }),
  dockerSingle: buildImage(root, { tag: '2026.9.9', kind: 'docker-single' }),
  armOnly: buildImage(root, { tag: '2026.9.10', kind: 'oci-index', platforms: [{ os: 'linux', architecture: 'arm64', variant: 'v8' }], attestation: true }),
  singleArm: buildImage(root, { tag: '2026.9.11', kind: 'oci-single', platforms: [{ os: 'linux', architecture: 'arm64' }] }),
  beta: buildImage(root, { tag: '2026.9.12-beta.1', kind: 'oci-index' }),
}
for (const img of Object.values(images)) await pushImage(img, reg.host)

const rejects = async (t: Test, p: Promise<unknown>, rule: string, exitCode: number, mentions: string[] = []) => {
  const e = await p.then(() => null, (e: unknown) => e)
  t.ok(e instanceof ClawbakeError, `refused with a ClawbakeError (${String(e)})`)
  if (!(e instanceof ClawbakeError)) return
  t.equal(e.rule, rule, `rule ${rule}: ${e.describe()}`)
  t.equal(e.exitCode, exitCode)
  for (const m of mentions) t.match(e.describe(), m, `error mentions ${m}`)
}

t.test('OCI index with attestations: the index digest, as skopeo sees it; attestations are not platforms', async t => {
  const img = images.index!
  const r = await resolveImage({ image: reg.image, tag: img.tag }, { env: {} })
  t.equal(r.digest, img.digest, 'the digest of the bytes we built')
  t.equal(r.digest, await skopeoRawDigest(reg.host, img.tag), 'skopeo inspect --raw | sha256sum agrees')
  t.equal(r.mediaType, MEDIA.ociIndex)
  t.same(r.platforms, img.platforms, 'linux/amd64 and linux/arm64/v8 with their manifest digests')
  t.equal(img.attestations.length, 2, 'the index really holds two attestation manifests')
  for (const a of img.attestations) t.notOk(r.platforms.some(p => p.digest === a), 'attestation left out')
  t.notOk(r.platforms.some(p => p.os === 'unknown'), 'no unknown/unknown platform')
  t.equal(r.image, reg.image)
  t.equal(r.tag, '2026.9.6')
})

t.test('the OCI index media type in Accept is what makes the registry answer at all', async t => {
  const url = `http://${reg.host}/v2/openclaw/openclaw/manifests/${images.index!.tag}`
  const without = await fetch(url, { method: 'HEAD', headers: { accept: `${MEDIA.dockerList}, ${MEDIA.dockerManifest}, ${MEDIA.ociManifest}` } })
  t.equal(without.status, 404, 'distribution 2.8 answers 404 for an OCI index the client did not ask for')
})

t.test('single-arch OCI manifest: digest of the manifest, platform from the verified config blob', async t => {
  const img = images.single!
  const r = await resolveImage({ image: reg.image, tag: img.tag }, { env: {} })
  t.equal(r.digest, await skopeoRawDigest(reg.host, img.tag))
  t.equal(r.digest, img.digest)
  t.equal(r.mediaType, MEDIA.ociManifest)
  t.same(r.platforms, [{ os: 'linux', architecture: 'amd64', digest: img.digest }])
})

t.test('Docker v2 manifest list and single Docker v2 manifest', async t => {
  const list = images.dockerList!
  const r = await resolveImage({ image: reg.image, tag: list.tag }, { env: {} })
  t.equal(r.digest, await skopeoRawDigest(reg.host, list.tag))
  t.equal(r.digest, list.digest)
  t.equal(r.mediaType, MEDIA.dockerList)
  t.same(r.platforms, list.platforms)
  const single = images.dockerSingle!
  const s = await resolveImage({ image: reg.image, tag: single.tag }, { env: {} })
  t.equal(s.digest, await skopeoRawDigest(reg.host, single.tag))
  t.equal(s.mediaType, MEDIA.dockerManifest)
  t.same(s.platforms, [{ os: 'linux', architecture: 'amd64', digest: single.digest }])
})

t.test('no linux/amd64: refused, naming the platforms found', async t => {
  await rejects(t, resolveImage({ image: reg.image, tag: images.armOnly!.tag }, { env: {} }), 'registry.no-amd64', 1, ['linux/arm64/v8', '2026.9.10'])
  await rejects(t, resolveImage({ image: reg.image, tag: images.singleArm!.tag }, { env: {} }), 'registry.no-amd64', 1, ['linux/arm64'])
})

t.test('unknown tag: 404 naming image and tag', async t => {
  await rejects(t, resolveImage({ image: reg.image, tag: '2026.9.30' }, { env: {} }), 'registry.not-found', 1, [`${reg.image}:2026.9.30`, 'HTTP 404'])
})

t.test('prereleases only when allowed; the floor never', async t => {
  await rejects(t, resolveImage({ image: reg.image, tag: images.beta!.tag }, { env: {} }), 'resolve.prerelease', 1, ['--allow-prerelease'])
  const r = await resolveImage({ image: reg.image, tag: images.beta!.tag }, { env: {}, allowPrerelease: true })
  t.equal(r.digest, await skopeoRawDigest(reg.host, images.beta!.tag))
  await rejects(t, resolveImage({ image: reg.image, tag: '2026.1.28' }, { env: {}, allowPrerelease: true }), 'resolve.below-floor', 1, ['2026.1.29'])
  await rejects(t, resolveImage({ image: reg.image, tag: 'latest' }, { env: {} }), 'version.malformed', 2)
  t.equal((await resolveImage({ image: reg.image, tag: 'v2026.9.6' }, { env: {} })).tag, '2026.9.6', 'a leading v is the git tag of the same release')
})

t.test('token auth: anonymous bearer flow, 3 requests cold, 2 warm, token reused until it expires', async t => {
  const tok = await startRegistry(t, { auth: 'token', storage: reg.storage })
  const server = tok.token!
  let now = Date.now()
  const session = new RegistrySession({ env: {}, tokens: new TokenCache(), now: () => now })
  const img = images.index!
  const cold = await resolveImage({ image: tok.image, tag: img.tag }, { env: {}, session })
  t.equal(cold.digest, img.digest)
  t.equal(session.requests, 3, 'cold: HEAD (401 challenge), token, GET')
  t.same(server.log.map(l => [l.user, l.scopes]), [[null, ['repository:openclaw/openclaw:pull']]], 'one anonymous token, pull on the repository only')
  t.equal(cold.digest, await skopeoRawDigest(tok.host, img.tag), 'skopeo (token flow too) agrees')
  const tokensBefore = server.log.length

  const warm = await resolveImage({ image: tok.image, tag: images.dockerList!.tag }, { env: {}, session })
  t.equal(warm.digest, images.dockerList!.digest)
  t.equal(session.requests, 5, 'warm: HEAD + GET with the cached token')
  t.equal(server.log.length, tokensBefore, 'no new token while the first is valid')

  now += 301_000 // the stand-in issues 300 s tokens
  await resolveImage({ image: tok.image, tag: img.tag }, { env: {}, session })
  t.equal(server.log.length, tokensBefore + 1, 'expired token: exactly one new token')
  t.equal(session.requests, 8)

  server.accessTokenOnly = true
  const fresh = new RegistrySession({ env: {}, tokens: new TokenCache() })
  const r = await resolveImage({ image: tok.image, tag: img.tag }, { env: {}, session: fresh })
  t.equal(r.digest, img.digest, 'a realm that answers `access_token` only works too')
})

t.test('token auth with credentials from the environment', async t => {
  const tok = await startRegistry(t, { auth: 'token', storage: reg.storage })
  const env = { CLAWBAKE_REGISTRY_USER: tok.user, CLAWBAKE_REGISTRY_PASSWORD: tok.password }
  const r = await resolveImage({ image: tok.image, tag: images.index!.tag }, { env, session: new RegistrySession({ env, tokens: new TokenCache() }) })
  t.equal(r.digest, images.index!.digest)
  t.equal(tok.token!.log.at(-1)!.user, tok.user, 'the token was asked for with the credentials')
  const bad = { CLAWBAKE_REGISTRY_USER: tok.user, CLAWBAKE_REGISTRY_PASSWORD: 'wrong-password' }
  await rejects(t, resolveImage({ image: tok.image, tag: images.index!.tag }, { env: bad, session: new RegistrySession({ env: bad, tokens: new TokenCache() }) }),
    'registry.unauthorized', 2, [`${tok.image}:2026.9.6`, 'CLAWBAKE_REGISTRY_USER'])
  const other = { ...env, CLAWBAKE_REGISTRY_HOST: 'ghcr.io' }
  await resolveImage({ image: tok.image, tag: images.index!.tag }, { env: other, session: new RegistrySession({ env: other, tokens: new TokenCache() }) })
  t.equal(tok.token!.log.at(-1)!.user, null, 'credentials scoped to another host are not offered')
})

t.test('htpasswd (bcrypt) basic auth', async t => {
  const ht = await startRegistry(t, { auth: 'htpasswd', storage: reg.storage })
  const env = { CLAWBAKE_REGISTRY_USER: ht.user, CLAWBAKE_REGISTRY_PASSWORD: ht.password }
  const session = new RegistrySession({ env, tokens: new TokenCache() })
  const r = await resolveImage({ image: ht.image, tag: images.index!.tag }, { env, session })
  t.equal(r.digest, await skopeoRawDigest(ht.host, images.index!.tag, { user: ht.user, password: ht.password }))
  t.equal(session.requests, 2, 'cold basic: HEAD (401 Basic challenge) + GET')
  await resolveImage({ image: ht.image, tag: images.index!.tag }, { env, session })
  t.equal(session.requests, 4, 'warm basic: HEAD + GET')
  await rejects(t, resolveImage({ image: ht.image, tag: images.index!.tag }, { env: {}, session: new RegistrySession({ env: {}, tokens: new TokenCache() }) }),
    'registry.unauthorized', 2, ['CLAWBAKE_REGISTRY_USER', `${ht.image}:2026.9.6`])
  const bad = { CLAWBAKE_REGISTRY_USER: ht.user, CLAWBAKE_REGISTRY_PASSWORD: 'nope' }
  await rejects(t, resolveImage({ image: ht.image, tag: images.index!.tag }, { env: bad, session: new RegistrySession({ env: bad, tokens: new TokenCache() }) }),
    'registry.unauthorized', 2, ['2026.9.6'])
  await rejects(t, resolveImage({ image: ht.image, tag: images.index!.tag }, { env: { CLAWBAKE_REGISTRY_USER: 'x' } }), 'registry.credentials-incomplete', 2)
})
