// THE REHEARSAL BAKE: the real `clawbake bake` binary, end to end on this
// machine: real watch record, real resolve against a real registry
// (docker-registry on loopback, image pushed with skopeo), real pin and
// check, real Packer (Debian 1.6.6) with the `null` source whose shell-local
// provisioners run the real gate suite (`clawbake verify --local`) against a
// loopback avots stand-in, then manifest and publish.
// Nothing here is mocked. The null builder runs the gates that need no VM
// (gatesFor('local')), and only those.
import t from 'tap'
import { existsSync, readFileSync } from 'node:fs'
import { gatesFor } from '../../src/gates/gate.ts'
import { join } from 'node:path'
import { clawbake } from '../support/cli.ts'
import { buildImage, imageRoot, pushImage, skopeoRawDigest, startRegistry } from '../support/registry.ts'
import { startAvotsStandin } from '../standins/avots.ts'
import { bakeTree, filesContaining, snapshot } from './helpers.ts'

t.setTimeout(900_000)

const registry = await startRegistry(t)
const image = buildImage(imageRoot(t), { tag: '2026.9.6', kind: 'oci-index', attestation: true })
await pushImage(image, registry.host)
const registryDigest = await skopeoRawDigest(registry.host, '2026.9.6')

const bakeArgs = ['bake', '--tag', '2026.9.6', '--builder', 'null', '--image', registry.image]
const envFor = (avots: { baseUrl: string; apiKey: string }, root: string) => ({
  CLAWBAKE_ROOT: root,
  AVOTS_BASE_URL: avots.baseUrl,
  AVOTS_API_KEY: avots.apiKey,
  GITHUB_API_URL: 'http://127.0.0.1:9', // never asked: catalog/releases.json has the release
})

t.test('rehearsal: publishes a catalog entry whose digest equals the pin; re-run is a no-op; no secret anywhere', async t => {
  const avots = await startAvotsStandin({ mode: 'tool' })
  t.teardown(() => avots.close())
  const root = bakeTree(t)
  const env = envFor(avots, root)

  const r = await clawbake([...bakeArgs, '--json'], { cwd: root, env })
  t.equal(r.code, 0, `bake exit 0\n${r.stderr.slice(-3000)}`)
  const out = r.json()
  t.equal(out.published, true)
  t.equal(out.digest, registryDigest, 'resolved from the registry once: the digest of the pushed index')
  const pin = JSON.parse(readFileSync(join(root, 'pins.lock.json'), 'utf8'))
  t.equal(pin.digest, registryDigest, 'pinned')
  t.match(readFileSync(join(root, 'packer', 'files', 'docker-compose.yml'), 'utf8'), `ghcr.io/openclaw/openclaw:2026.9.6@${registryDigest}`)
  const catalog = JSON.parse(readFileSync(join(root, 'catalog', 'stable.json'), 'utf8'))
  t.equal(catalog.entries.at(-1).digest, pin.digest, 'catalog digest == pin')
  t.equal(catalog.entries.at(-1).gates.ok, true)
  t.same(catalog.entries.at(-1).gates.gates.map((g: { id: string }) => g.id), [...gatesFor('local')], 'every gate that needs no VM ran, in order')
  const host = catalog.entries.at(-1).gates.host as { startedAt: string; finishedAt: string; guestClock: string }
  t.equal(host?.guestClock, 'host', 'the report of record says which clock the gates timed themselves on')
  const bakeStarted = Date.parse(catalog.entries.at(-1).bakeStartedAt)
  const published = Date.parse(catalog.entries.at(-1).publishedAt)
  t.ok(bakeStarted <= Date.parse(host.startedAt) && Date.parse(host.startedAt) <= Date.parse(host.finishedAt) && Date.parse(host.finishedAt) <= published, `the gate run's host times lie inside the bake (${host.startedAt} .. ${host.finishedAt})`)
  for (const g of catalog.entries.at(-1).gates.gates as { id: string; hostAt?: string }[]) {
    t.ok(g.hostAt && Date.parse(g.hostAt) >= Date.parse(host.startedAt) && Date.parse(g.hostAt) <= Date.parse(host.finishedAt), `${g.id}: its result's host time ${g.hostAt} is inside the run`)
  }
  t.ok(existsSync(join(root, 'catalog', 'notes', '2026.9.6.md')))

  t.notOk(r.stdout.includes(avots.apiKey) || r.stderr.includes(avots.apiKey), 'key not in output')
  t.same(filesContaining(root, avots.apiKey), [], 'key in no file of the tree')

  const before = snapshot(root)
  const again = await clawbake([...bakeArgs, '--json'], { cwd: root, env })
  t.equal(again.code, 0)
  t.equal(again.json().noop, true, 're-run is a no-op')
  t.same([...snapshot(root)], [...before], 'and writes nothing')
})

t.test('rehearsal: --dry-run writes nothing', async t => {
  const avots = await startAvotsStandin({ mode: 'tool' })
  t.teardown(() => avots.close())
  const root = bakeTree(t)
  const before = snapshot(root)
  const r = await clawbake([...bakeArgs, '--dry-run', '--json'], { cwd: root, env: envFor(avots, root) })
  t.equal(r.code, 0, r.stderr)
  t.equal(r.json().digest, registryDigest)
  t.same([...snapshot(root)], [...before])
})

t.test('rehearsal: a failing gate publishes nothing and names the gate', async t => {
  const avots = await startAvotsStandin({ mode: '401' })
  t.teardown(() => avots.close())
  const root = bakeTree(t)
  const r = await clawbake([...bakeArgs, '--json'], { cwd: root, env: envFor(avots, root) })
  t.equal(r.code, 1, r.stderr.slice(-3000))
  const out = r.json()
  t.equal(out.published, false)
  t.equal(out.error.rule, 'publish.gate-failed')
  t.match(out.error.message, /avots-smoke/)
  t.notOk(existsSync(join(root, 'catalog', 'stable.json')))
  t.notOk(existsSync(join(root, 'catalog', 'notes')))
  t.same(filesContaining(root, avots.apiKey), [])
})
