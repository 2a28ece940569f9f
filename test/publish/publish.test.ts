// Publishing: only passed gates, only the pinned digest, nothing secret,
// atomic files; catalog/<channel>.json, release notes and CHANGELOG.
import t from 'tap'
import { existsSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { createMasker } from '../../src/bake/mask.ts'
import type { GateReport } from '../../src/bake/contract.ts'
import { GATE_IDS } from '../../src/bake/contract.ts'
import { addChangelogEntry } from '../../src/publish/changelog.ts'
import { readCatalog, type CatalogEntry } from '../../src/publish/catalog.ts'
import { assertGatesPassed, publishImage, type PublishInput } from '../../src/publish/publish.ts'
import { schemaValidator } from '../../src/schema/validate.ts'
import { readPinRecord } from '../../src/pins/record.ts'
import { tempTree } from '../support/tree.ts'
import { snapshot, testKey } from '../bake/helpers.ts'

function report(over: Partial<Record<string, boolean>> = {}): GateReport {
  const gates = GATE_IDS.map(id => ({ id, ok: over[id] ?? true, detail: over[id] === false ? `${id} failed: 401 from avots` : 'ok', ms: 12 }))
  return { ok: gates.every(g => g.ok), openclawVersion: '2026.9.6', gates }
}

function input(root: string, over: Partial<PublishInput> = {}): PublishInput {
  const pin = readPinRecord(join(root, 'pins.lock.json'))
  return {
    root, channel: 'stable', tag: pin.tag, image: 'ghcr.io/openclaw/openclaw', digest: pin.digest, platforms: [],
    artifact: { builder: 'qemu', id: '.clawbake/artifacts/x/clawbake.qcow2', sha256: 'a'.repeat(64), sizeBytes: 1234 },
    gates: report(), gateReportFile: '/run/gate-report.json', requiredGates: GATE_IDS, urgency: 'routine',
    releasedAt: '2026-11-20T10:00:00.000Z', bakeStartedAt: '2026-11-21T09:00:00.000Z', now: new Date('2026-11-21T10:30:00.000Z'),
    bakeId: 'b-1', releaseUrl: 'https://github.com/openclaw/openclaw/releases/tag/v2026.9.6', advisories: [],
    masker: createMasker([testKey()]),
    ...over,
  }
}

t.test('publishes catalog entry, notes and CHANGELOG bullet; appends on the next publish', async t => {
  const root = tempTree(t)
  const r = await publishImage(input(root))
  t.same(r.files, ['catalog/notes/2026.9.6.md', 'CHANGELOG.md', 'catalog/stable.json'])
  const catalog = JSON.parse(readFileSync(join(root, 'catalog', 'stable.json'), 'utf8'))
  t.ok(schemaValidator('catalog.schema.json')(catalog))
  t.equal(catalog.entries[0].timeToPatchHours, 24.5)
  t.equal(catalog.entries[0].publishedAt, '2026-11-21T10:30:00.000Z')
  t.equal(catalog.entries[0].digest, readPinRecord(join(root, 'pins.lock.json')).digest)
  t.match(readFileSync(join(root, 'catalog', 'notes', '2026.9.6.md'), 'utf8'), /first image published on this channel/)
  // the bullet lands in the Unreleased `### Changed` list, whatever that list already holds
  const changelog = readFileSync(join(root, 'CHANGELOG.md'), 'utf8').split('\n')
  const unreleased = changelog.findIndex(l => l.startsWith('## [Unreleased]'))
  const bulletAt = changelog.findIndex(l => l.startsWith('- Published the stable golden image for OpenClaw 2026.9.6'))
  const headingAbove = changelog.slice(unreleased, bulletAt).reverse().find(l => /^#{2,3} /.test(l))
  t.ok(unreleased >= 0 && bulletAt > unreleased, 'bullet under [Unreleased]')
  t.equal(headingAbove, '### Changed', 'in the Changed list')
  const sectionEnd = changelog.findIndex((l, i) => i > unreleased && l.startsWith('## '))
  const section = changelog.slice(unreleased, sectionEnd < 0 ? undefined : sectionEnd)
  t.equal(section.filter(l => l === '### Changed').length, 1, 'no second Changed heading')

  await publishImage(input(root, { now: new Date('2026-11-22T10:00:00Z'), bakeId: 'b-2' }))
  const again = readCatalog(root, 'stable')
  t.equal(again.entries.length, 2, 'appended, never replaced')
  t.equal(again.entries.at(-1)?.bakeId, 'b-2', 'the last entry is current')
  t.same(readdirSync(join(root, 'catalog')).filter(f => f.includes('.tmp-')), [], 'no temp files left')
})

t.test('a failed or missing gate publishes nothing and names the gate', async t => {
  const root = tempTree(t)
  const before = snapshot(root)
  await t.rejects(publishImage(input(root, { gates: report({ 'owner-exec': false }) })), { rule: 'publish.gate-failed', exitCode: 1, message: /gate failed: owner-exec \(owner-exec failed: 401/, field: '/gates/5' })
  const partial = report()
  partial.gates = partial.gates.filter(g => g.id !== 'no-secret-left')
  await t.rejects(publishImage(input(root, { gates: partial })), { message: /no-secret-left \(did not run\)/ })
  t.throws(() => assertGatesPassed({ ok: false, openclawVersion: 'x', gates: report().gates }, GATE_IDS, 'f'), { name: 'ClawbakeError', rule: 'publish.gate-failed' })
  t.same([...snapshot(root)], [...before])
})

t.test('a digest other than the pin publishes nothing', async t => {
  const root = tempTree(t)
  const before = snapshot(root)
  await t.rejects(publishImage(input(root, { digest: 'sha256:' + 'f'.repeat(64) })), { name: 'ClawbakeError', rule: 'publish.pin-mismatch', file: join(root, 'pins.lock.json') })
  t.same([...snapshot(root)], [...before])
})

t.test('a secret anywhere in what would be written publishes nothing', async t => {
  const root = tempTree(t)
  const before = snapshot(root)
  const key = testKey()
  const leaky = report()
  leaky.gates[4] = { id: 'avots-smoke', ok: true, detail: `called with key ${key}`, ms: 3 }
  await t.rejects(publishImage(input(root, { gates: leaky, masker: createMasker([key]) })), { name: 'ClawbakeError', rule: 'publish.secret-leak' })
  t.same([...snapshot(root)], [...before])
})

t.test('a corrupt catalog is refused, not overwritten', async t => {
  const root = tempTree(t)
  mkdirSync(join(root, 'catalog'), { recursive: true })
  writeFileSync(join(root, 'catalog', 'stable.json'), JSON.stringify({ schemaVersion: 1, channel: 'stable', entries: [{ tag: '2026.9.6' }] }))
  await t.rejects(publishImage(input(root)), { name: 'ClawbakeError', rule: 'catalog.corrupt' })
  t.notOk(existsSync(join(root, 'catalog', 'notes')))
})

t.test('catalog schema: an entry with a failed gate is not a valid catalog', async t => {
  const root = tempTree(t)
  await publishImage(input(root))
  const catalog = JSON.parse(readFileSync(join(root, 'catalog', 'stable.json'), 'utf8'))
  catalog.entries[0].gates.gates[0].ok = false
  const v = schemaValidator('catalog.schema.json')
  t.notOk(v(catalog))
  t.ok(v.errors?.some(e => e.instancePath === '/entries/0/gates/gates/0/ok'))
})

t.test('CHANGELOG: under [Unreleased], Security for critical, once per tag+digest', async t => {
  const entry = { tag: '2026.9.7', digest: 'sha256:' + 'b'.repeat(64), artifact: { builder: 'null', id: 'Null', sha256: null, sizeBytes: null }, gates: report(), urgency: 'critical', timeToPatchHours: 3 } as unknown as CatalogEntry
  const base = '# Changelog\n\n## [Unreleased]\n\n### Added\n- a thing\n\n### Security\n- older fix\n\n## [0.1.0] - 2026-01-01\n\n### Added\n- first\n'
  const once = addChangelogEntry(base, entry, 'stable')
  t.match(once, /### Security\n- older fix\n- Published the stable golden image for OpenClaw 2026\.9\.7[^\n]*\n\n## \[0\.1\.0\]/)
  t.equal(addChangelogEntry(once, entry, 'stable'), once, 'idempotent')
  const routine = addChangelogEntry(base, { ...entry, urgency: 'routine' }, 'stable')
  t.match(routine, /- older fix\n\n### Changed\n- Published the stable golden image[^\n]*\n\n## \[0\.1\.0\]/)
  const bare = addChangelogEntry('# Changelog\n', entry, 'stable')
  t.match(bare, /## \[Unreleased\]\n\n### Security\n- Published/)
})
