// `clawbake resolve` as an operator runs it: the real binary, the real registry.
import t from 'tap'
import { buildImage, imageRoot, pushImage, skopeoRawDigest, startRegistry } from '../support/registry.ts'
import { clawbake } from '../support/cli.ts'

const reg = await startRegistry(t, {})
const root = imageRoot(t)
const img = buildImage(root, { tag: '2026.9.6', kind: 'oci-index', attestation: true })
const beta = buildImage(root, { tag: '2026.10.1-beta.2', kind: 'oci-single' })
await pushImage(img, reg.host)
await pushImage(beta, reg.host)
const tok = await startRegistry(t, { auth: 'token', storage: reg.storage })

t.test('--json prints exactly the design.md document; humans get stderr', async t => {
  const r = await clawbake(['resolve', '2026.9.6', '--image', tok.image, '--json'])
  t.equal(r.code, 0, r.stderr)
  t.same(r.json(), { image: tok.image, tag: '2026.9.6', digest: img.digest, mediaType: 'application/vnd.oci.image.index.v1+json', platforms: img.platforms })
  t.equal(r.json().digest, await skopeoRawDigest(tok.host, '2026.9.6'))
  t.match(r.stderr, `resolved ${tok.image}:2026.9.6 -> ${img.digest}`)
  t.match(r.stderr, '3 requests', 'cold with token: HEAD, token, GET')
  t.match(r.stderr, 'linux/arm64/v8')
  const human = await clawbake(['resolve', '2026.9.6', '--image', tok.image])
  t.equal(human.code, 0)
  t.equal(human.stdout, '', 'nothing on stdout without --json')
})

t.test('prereleases need --allow-prerelease; bad input is a usage error', async t => {
  const refused = await clawbake(['resolve', '2026.10.1-beta.2', '--image', reg.image, '--json'])
  t.equal(refused.code, 1)
  t.equal(refused.json().error.rule, 'resolve.prerelease')
  const forced = await clawbake(['resolve', '2026.10.1-beta.2', '--image', reg.image, '--allow-prerelease', '--json'])
  t.equal(forced.code, 0, forced.stderr)
  t.equal(forced.json().digest, beta.digest)
  const floor = await clawbake(['resolve', '2026.1.1', '--image', reg.image, '--allow-prerelease', '--json'])
  t.equal(floor.code, 1)
  t.equal(floor.json().error.rule, 'resolve.below-floor')
  for (const [args, rule] of [
    [['resolve'], 'usage'],
    [['resolve', '2026.9.6', '--bogus'], 'usage'],
    [['resolve', '2026.13.1'], 'version.malformed'],
    [['resolve', '2026.9.6', '--image', `${reg.image}:2026.9.6`], 'registry.image-ref'],
    [['resolve', '2026.9.6', '--image', 'docker.io'], 'registry.image-ref'],
  ] as [string[], string][]) {
    const r = await clawbake([...args, '--json'])
    t.equal(r.code, 2, args.join(' '))
    t.equal(r.json().error.rule, rule, `${args.join(' ')}: ${r.stderr.trim()}`)
  }
})
