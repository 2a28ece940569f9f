// `clawbake sla` through the real CLI, over fixture records
// (test/fixtures/sla/history/catalog: what watch recorded and bake published)
// in a temp tree. Fixed instants with --at; the default clock is checked
// against records made relative to the real now.
import t from 'tap'
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { clawbake } from '../support/cli.ts'
import { REPO, tempTree } from '../support/tree.ts'
import { snapshotTree as snapshot } from '../support/tree.ts'

const FIXTURE = join(REPO, 'test', 'fixtures', 'sla', 'history', 'catalog')
const AT = '2026-11-20T12:00:00Z'

function historyTree(t: Parameters<typeof tempTree>[0]): string {
  const root = tempTree(t, [])
  cpSync(FIXTURE, join(root, 'catalog'), { recursive: true })
  return root
}

const sla = (root: string, args: string[]) => clawbake(['sla', ...args], { cwd: root, env: { CLAWBAKE_ROOT: root } })


t.test('time to patch, open releases and breaches by urgency (--json)', async t => {
  const root = historyTree(t)
  const before = snapshot(root)
  const r = await sla(root, ['--json', '--at', AT])
  t.equal(r.code, 0, r.stderr)
  const doc = r.json()
  const row = (tag: string) => doc.releases.find((x: { tag: string }) => x.tag === tag)
  for (const x of doc.releases) {
    t.hasProps(x, ['tag', 'releasedAt', 'publishedAt', 'hours', 'breached'], `${x.tag}: the design.md fields`)
  }
  t.same(doc.releases.map((x: { tag: string }) => x.tag), ['2026.11.4', '2026.11.3', '2026.10.2', '2026.10.1', '2026.10.33', '2026.9.33', '2026.9.6', '2026.9.5'], 'newest release first')

  // a critical release never baked, past its 24 h: open and breached
  t.match(row('2026.11.3'), { urgency: 'critical', state: 'open', publishedAt: null, patchedBy: null, hours: 54, remainingHours: -30, breached: true, dueBy: '2026-11-19T06:00:00.000Z' })
  // a routine release inside its 7-day window: open, not breached, 6 days left
  t.match(row('2026.11.4'), { urgency: 'routine', state: 'open', publishedAt: null, hours: 24, remainingHours: 144, breached: false })
  // a critical release baked 30.5 h after its release: patched, breached
  t.match(row('2026.10.2'), { urgency: 'critical', state: 'patched', publishedAt: '2026-10-15T15:30:00.000Z', patchedBy: '2026.10.2', hours: 30.5, breached: true })
  // a release never baked itself but carried by the next image on its channel
  t.match(row('2026.10.1'), { urgency: 'routine', state: 'patched', patchedBy: '2026.10.2', hours: 135.5, breached: false })
  // routine, published 9 days after release: breached
  t.match(row('2026.10.33'), { channel: 'extended-stable', urgency: 'routine', hours: 216, breached: true })
  t.match(row('2026.9.6'), { hours: 46, breached: false, state: 'patched' })
  // published by hand, never decided by watch: no SLA applies
  t.match(row('2026.9.5'), { urgency: null, dueBy: null, hours: 29, breached: false })

  t.same(doc.breaches, { critical: 2, routine: 1, total: 3 })
  t.equal(doc.ok, false)
  t.same(doc.open.map((x: { tag: string }) => x.tag), ['2026.11.4', '2026.11.3'])
  t.same(doc.windows, { criticalHours: 24, routineHours: 168 })
  t.equal(doc.now, '2026-11-20T12:00:00.000Z')
  t.same(doc.sources.missing, [])
  t.match(r.stderr, /sla: 8 release\(s\), 2 open, 3 breach\(es\) \(critical 2, routine 1\)/)
  t.same(snapshot(root), before, 'sla writes nothing')
})

t.test('--fail-on-breach: exit 1 on any breach, 0 when there is none', async t => {
  const root = historyTree(t)
  const breached = await sla(root, ['--json', '--fail-on-breach', '--at', AT])
  t.equal(breached.code, 1)
  t.equal(breached.json().breaches.total, 3, 'still prints the report')

  // as of 2026-09-23 only 2026.9.5 and 2026.9.6 had happened, both fine
  const early = await sla(root, ['--json', '--fail-on-breach', '--at', '2026-09-23T00:00:00Z'])
  t.equal(early.code, 0, early.stderr)
  t.same(early.json().releases.map((x: { tag: string }) => x.tag), ['2026.9.6', '2026.9.5'])

  // a critical release still inside its 24 h is open but not a breach
  const within = await sla(root, ['--fail-on-breach', '--open', '--at', '2026-11-18T20:00:00Z'])
  t.equal(within.code, 0, within.stderr)
  t.match(within.stderr, /2026\.11\.3 .* critical .* open: 10\.0 h left/)
})

t.test('--open and --channel narrow the report', async t => {
  const root = historyTree(t)
  const open = (await sla(root, ['--json', '--open', '--at', AT])).json()
  t.same(open.releases.map((x: { tag: string }) => x.tag), ['2026.11.4', '2026.11.3'])
  t.same(open.breaches, { critical: 1, routine: 0, total: 1 })
  const ext = (await sla(root, ['--json', '--channel', 'extended-stable', '--at', AT])).json()
  t.same(ext.releases.map((x: { tag: string }) => x.tag), ['2026.10.33', '2026.9.33'])
  t.same(ext.breaches, { critical: 0, routine: 1, total: 1 })
})

t.test('--markdown: a table for the job summary', async t => {
  const root = historyTree(t)
  const r = await sla(root, ['--markdown', '--at', AT])
  t.equal(r.code, 0, r.stderr)
  t.throws(() => JSON.parse(r.stdout), 'not JSON')
  t.match(r.stdout, /^### Patch SLA \(critical 24 h, routine 7 days\)\n/)
  t.match(r.stdout, ':x: **3 SLA breaches (critical 2, routine 1) · 2 open releases · 8 releases tracked** as of 2026-11-20 12:00Z')
  t.match(r.stdout, '| release | channel | urgency | released | due by | image published | time to patch | status |')
  t.match(r.stdout, '| 2026.11.3 | stable | critical | 2026-11-18 06:00Z | 2026-11-19 06:00Z | - | 2.3 d so far | :x: BREACHED: overdue by 30.0 h |')
  t.match(r.stdout, '| 2026.11.4 | stable | routine | 2026-11-19 12:00Z | 2026-11-26 12:00Z | - | 24.0 h so far | :hourglass: open: 6.0 d left |')
  t.match(r.stdout, '| 2026.10.2 | stable | critical | 2026-10-14 09:00Z | 2026-10-15 09:00Z | 2026-10-15 15:30Z | 30.5 h | :x: BREACHED: published 6.5 h late |')
  t.match(r.stdout, '| 2026.10.1 | stable | routine | 2026-10-10 00:00Z | 2026-10-17 00:00Z | 2026-10-15 15:30Z (as 2026.10.2) | 5.6 d | within SLA |')
  const lines = r.stdout.trim().split('\n').filter(l => l.startsWith('| 20'))
  t.equal(lines.length, 8, 'one row per release')
})

t.test('human output goes to stderr, nothing on stdout', async t => {
  const root = historyTree(t)
  const r = await sla(root, ['--at', AT])
  t.equal(r.code, 0)
  t.equal(r.stdout, '')
  t.match(r.stderr, /^sla: 3 SLA breaches \(critical 2, routine 1\) · 2 open releases · 8 releases tracked \(as of 2026-11-20 12:00Z\)/)
  t.match(r.stderr, /release\s+channel\s+urgency/)
  t.match(r.stderr, /2026\.10\.33\s+extended-stable\s+routine.*BREACHED: published 2\.0 d late/)
})

t.test('without --at the report is as of now (io.now)', async t => {
  const root = tempTree(t, [])
  mkdirSync(join(root, 'catalog'))
  const now = Date.now()
  const iso = (hoursAgo: number) => new Date(now - hoursAgo * 3_600_000).toISOString()
  writeFileSync(join(root, 'catalog', 'releases.json'), JSON.stringify({
    schemaVersion: 1,
    releases: [
      { tag: '2026.11.3', channel: 'stable', publishedAt: iso(2), url: 'https://github.com/openclaw/openclaw/releases/tag/v2026.11.3', firstSeenAt: iso(1.5), urgency: 'critical', dueBy: iso(-22), advisories: [{ ghsaId: 'GHSA-9c4r-qq2w-h7mf', cveId: null, severity: 'high' }] },
      { tag: '2026.11.2', channel: 'stable', publishedAt: iso(200), url: 'https://github.com/openclaw/openclaw/releases/tag/v2026.11.2', firstSeenAt: iso(199), urgency: 'routine', dueBy: iso(32), advisories: [] },
    ],
  }))
  const r = await sla(root, ['--json'])
  t.equal(r.code, 0, r.stderr)
  const doc = r.json()
  t.ok(Math.abs(Date.parse(doc.now) - now) < 60_000, 'now is the real clock')
  const critical = doc.releases.find((x: { tag: string }) => x.tag === '2026.11.3')
  t.equal(critical.breached, false)
  t.ok(critical.remainingHours > 21 && critical.remainingHours <= 22, `about 22 h left (${critical.remainingHours})`)
  const routine = doc.releases.find((x: { tag: string }) => x.tag === '2026.11.2')
  t.equal(routine.breached, true, 'never baked, 200 h after release')
  t.same(doc.sources.missing, ['catalog/stable.json', 'catalog/extended-stable.json'])
  t.equal((await sla(root, ['--fail-on-breach'])).code, 1)
})

t.test('no records yet: an empty report that says so', async t => {
  const root = tempTree(t, [])
  const r = await sla(root, ['--json', '--fail-on-breach'])
  t.equal(r.code, 0, r.stderr)
  t.match(r.json(), { ok: true, releases: [], open: [], breaches: { total: 0 }, sources: { read: [], missing: ['catalog/releases.json', 'catalog/stable.json', 'catalog/extended-stable.json'] } })
  const md = await sla(root, ['--markdown'])
  t.match(md.stdout, /_No records yet: catalog\/releases\.json, catalog\/stable\.json, catalog\/extended-stable\.json not found\./)
})

t.test('a wrong record is one error naming file, field and rule; nothing is reported', async t => {
  const cases: [string, (root: string) => void, RegExp, string][] = [
    ['releases.json is not JSON', root => writeFileSync(join(root, 'catalog', 'releases.json'), '{"schemaVersion": 1, "releases": ['), /catalog\/releases\.json$/, '/'],
    ['unknown urgency', root => {
      const f = join(root, 'catalog', 'releases.json')
      const doc = JSON.parse(readFileSync(f, 'utf8'))
      doc.releases[0].urgency = 'urgent'
      writeFileSync(f, JSON.stringify(doc))
    }, /catalog\/releases\.json$/, '/releases/0/urgency'],
    ['catalog published before its release', root => {
      const f = join(root, 'catalog', 'stable.json')
      const doc = JSON.parse(readFileSync(f, 'utf8'))
      doc.entries[1].publishedAt = '2026-09-01T00:00:00Z'
      writeFileSync(f, JSON.stringify(doc))
    }, /catalog\/stable\.json$/, '/entries/1/publishedAt'],
    ['catalog of the wrong channel', root => {
      const f = join(root, 'catalog', 'extended-stable.json')
      const doc = JSON.parse(readFileSync(f, 'utf8'))
      doc.channel = 'stable'
      writeFileSync(f, JSON.stringify(doc))
    }, /catalog\/extended-stable\.json$/, '/channel'],
  ]
  for (const [what, spoil, file, field] of cases) {
    const root = historyTree(t)
    spoil(root)
    const r = await sla(root, ['--json', '--at', AT])
    t.equal(r.code, 1, what)
    const err = r.json().error
    t.equal(r.json().ok, false, what)
    t.match(err.file, file, `${what}: file`)
    t.equal(err.field ?? '/', field, `${what}: field`)
    t.equal(err.rule, 'sla.record-invalid', `${what}: rule`)
    t.notOk('releases' in r.json(), `${what}: no report`)
  }
})

t.test('usage errors exit 2', async t => {
  const root = historyTree(t)
  for (const args of [['--json', '--markdown'], ['--channel', 'beta'], ['--at', 'yesterday'], ['--at', '2026-11-20'], ['--bogus'], ['extra']]) {
    const r = await sla(root, args)
    t.equal(r.code, 2, args.join(' '))
    t.match(r.stderr, /usage: clawbake sla/, args.join(' '))
  }
})
