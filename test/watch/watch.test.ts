// `clawbake watch --json`, the real binary, against the loopback GitHub stand-in.
import t from 'tap'
import { existsSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { clawbake } from '../support/cli.ts'
import { tempTree } from '../support/tree.ts'
import { startGithubStandin, type AdvisorySeed, type GithubStandin, type ReleaseSeed, type StandinOptions } from '../standins/github.ts'
import { snapshotTree as snapshot } from '../support/tree.ts'

type Teardown = { teardown(fn: () => unknown): void }

const HOUR = 3600_000
const T0 = Math.floor(Date.now() / 1000) * 1000
const ago = (h: number) => new Date(T0 - h * HOUR).toISOString().replace(/\.\d{3}Z$/, 'Z')

/** What upstream looks like around the seed pin 2026.9.6 (oldest first). */
function history(latestBody = '- Telegram: steadier polling.\n- Docs.'): ReleaseSeed[] {
  return [
    { tag_name: 'v2026.6.35', created_at: ago(2000), published_at: ago(2000) },
    { tag_name: 'v2026.7.33', created_at: ago(1500), published_at: ago(1500) },
    { tag_name: 'v2026.7.34', created_at: ago(1400), published_at: ago(1400) },
    { tag_name: 'v2026.7.35', created_at: ago(1300), published_at: ago(1300) },
    { tag_name: 'v2026.9.5', created_at: ago(400), published_at: ago(400), body: '- Security: fixed an exec approval bypass (GHSA-aaaa-bbbb-cccc).' },
    { tag_name: 'v2026.9.6', created_at: ago(300), published_at: ago(300) },
    { tag_name: 'v2026.7.36', prerelease: true, created_at: ago(200), published_at: ago(200) },
    { tag_name: 'v2026.9.7-beta.1', prerelease: true, created_at: ago(50), published_at: ago(50) },
    { tag_name: 'nightly-2026-11-24', prerelease: false, created_at: ago(30), published_at: ago(30) },
    { tag_name: 'v2026.9.7', created_at: ago(2), published_at: ago(2), body: latestBody },
    { tag_name: 'v2026.10.1-beta.1', prerelease: true, created_at: ago(1), published_at: ago(1) },
  ]
}

async function setup(t: Teardown, seeds: ReleaseSeed[], advisories: AdvisorySeed[] = [], opts: StandinOptions = {}) {
  const gh: GithubStandin = await startGithubStandin(opts)
  t.teardown(() => gh.close())
  gh.setReleases(seeds)
  gh.setAdvisories(advisories)
  const root = tempTree(t)
  const env = { CLAWBAKE_ROOT: root, GITHUB_API_URL: gh.url, GITHUB_TOKEN: undefined, CLAWBAKE_GITHUB_RETRIES: undefined }
  const watch = async (args: string[] = [], extra: Record<string, string | undefined> = {}) => {
    gh.requests.length = 0
    return clawbake(['watch', '--json', ...args], { cwd: root, env: { ...env, ...extra } })
  }
  return { gh, root, watch }
}


const plus = (iso: string, hours: number) => new Date(Date.parse(iso) + hours * HOUR).toISOString()

t.test('stable: the newest eligible release, routine, due in 7 days, recorded', async t => {
  const { gh, root, watch } = await setup(t, history())
  const r = await watch()
  t.equal(r.code, 0, r.stderr)
  const doc = r.json()
  t.same(doc.current, JSON.parse(readFileSync(join(root, 'pins.lock.json'), 'utf8')).tag === '2026.9.6'
    ? { tag: '2026.9.6', digest: 'sha256:0a5ff5e682e62afa19149df126aa50063bf65ef885b5c94713ce32dc0eb12e15' } : {})
  t.same(doc.latest, { tag: '2026.9.7', publishedAt: ago(2), url: 'https://github.com/openclaw/openclaw/releases/tag/v2026.9.7' })
  t.equal(doc.action, 'bake')
  t.equal(doc.urgency, 'routine', 'the notes of 2026.9.5 (which the pin has) do not count')
  t.equal(doc.dueBy, plus(ago(2), 7 * 24))
  t.equal(doc.overdue, false)
  t.same(doc.advisories, [])
  t.match(doc.warnings, [/skipped: tag "nightly-2026-11-24" is not an OpenClaw version/])
  t.match(r.stderr, /warning: skipped: tag "nightly-2026-11-24"/, 'the warning is on stderr too')
  t.same(gh.requests.map(q => `${q.path} ${q.status}`), ['/repos/openclaw/openclaw/releases 200', '/repos/openclaw/openclaw/security-advisories 200'])
  const record = JSON.parse(readFileSync(join(root, 'catalog', 'releases.json'), 'utf8'))
  t.same(record.releases, [{
    tag: '2026.9.7', channel: 'stable', publishedAt: ago(2), url: doc.latest.url, firstSeenAt: doc.firstSeenAt,
    urgency: 'routine', dueBy: doc.dueBy, advisories: [],
  }])
  t.ok(Math.abs(Date.parse(doc.firstSeenAt) - Date.now()) < 60_000, 'firstSeenAt is now')
})

t.test('extended-stable: PATCH >= 33, GitHub prerelease flag honoured', async t => {
  const { root, watch } = await setup(t, history())
  const pin = JSON.parse(readFileSync(join(root, 'pins.lock.json'), 'utf8'))
  writeFileSync(join(root, 'pins.lock.json'), JSON.stringify({ ...pin, tag: '2026.7.33' }, null, 2))
  const ext = await watch(['--channel', 'extended-stable'])
  t.equal(ext.code, 0, ext.stderr)
  t.equal(ext.json().latest.tag, '2026.7.35', '2026.7.36 is marked prerelease on GitHub')
  t.equal(ext.json().action, 'bake')
  const stable = await watch(['--channel', 'stable'])
  t.equal(stable.json().latest.tag, '2026.9.7')
  t.equal(stable.json().urgency, 'critical', 'the 2026.7.33 pin lacks 2026.9.5, whose notes name a GHSA')
  t.match(stable.json().reasons, [/v2026\.9\.5 mention GHSA-aaaa-bbbb-cccc, "security"/])
  t.match(stable.json().warnings, [/nightly/, /the pin 2026\.7\.33 is on the extended-stable line, not stable/])
  const record = JSON.parse(readFileSync(join(root, 'catalog', 'releases.json'), 'utf8'))
  t.same(record.releases.map((e: { tag: string; channel: string }) => `${e.tag} ${e.channel}`), ['2026.7.35 extended-stable', '2026.9.7 stable'])
})

t.test('up to date: nothing to bake, and the next poll is one request answered 304', async t => {
  const { gh, root, watch } = await setup(t, history().filter(s => !['v2026.9.7', 'v2026.10.1-beta.1'].includes(s.tag_name)))
  const first = await watch()
  t.equal(first.code, 0, first.stderr)
  t.match(first.json(), { latest: { tag: '2026.9.6' }, action: 'up-to-date', urgency: null, dueBy: null, advisories: [] })
  t.equal(gh.requests.length, 1, 'advisories are not needed when there is nothing to bake')
  t.notOk(existsSync(join(root, 'catalog', 'releases.json')), 'nothing to record')
  const second = await watch()
  t.equal(second.code, 0)
  t.same(gh.requests.map(q => q.status), [304], 'exactly one request, answered 304')
  t.same(second.json().requests, { total: 1, notModified: 1 })
  t.same({ ...second.json(), requests: null }, { ...first.json(), requests: null }, 'same decision')
})

t.test('critical by advisory: due in 24 h; the next poll is one request answered 304', async t => {
  const advisory: AdvisorySeed = {
    ghsa_id: 'GHSA-xmxx-7p24-h892', cve_id: 'CVE-2026-41234', severity: 'high', published_at: ago(1),
    vulnerabilities: [{ vulnerable_version_range: '>= 2026.9.1, < 2026.9.7', patched_versions: '2026.9.7' }],
  }
  const other: AdvisorySeed = { ghsa_id: 'GHSA-old1-old1-old1', severity: 'critical', published_at: ago(3000), vulnerabilities: [{ vulnerable_version_range: '< 2026.1.29', patched_versions: '2026.1.29' }] }
  const { gh, root, watch } = await setup(t, history(), [other, advisory])
  const first = await watch()
  t.equal(first.code, 0, first.stderr)
  const doc = first.json()
  t.equal(doc.action, 'bake')
  t.equal(doc.urgency, 'critical')
  t.equal(doc.dueBy, plus(ago(2), 24))
  t.same(doc.advisories, [{ ghsaId: 'GHSA-xmxx-7p24-h892', cveId: 'CVE-2026-41234', severity: 'high' }], 'only what the pin is exposed to')
  const recorded = readFileSync(join(root, 'catalog', 'releases.json'), 'utf8')

  const second = await watch()
  t.equal(second.code, 0)
  t.same(gh.requests.map(q => `${q.path} ${q.status}`), ['/repos/openclaw/openclaw/releases 304'], 'exactly one request, answered 304')
  t.same({ ...second.json(), requests: null, recorded: null }, { ...doc, requests: null, recorded: null }, 'same decision')
  t.equal(second.json().recorded, false)
  t.equal(readFileSync(join(root, 'catalog', 'releases.json'), 'utf8'), recorded, 'record unchanged')
})

t.test('an advisory published after the release upgrades urgency on the next poll', async t => {
  const { gh, root, watch } = await setup(t, history())
  const first = await watch()
  t.equal(first.json().urgency, 'routine')
  const firstSeenAt = first.json().firstSeenAt

  const unchanged = await watch()
  t.same(gh.requests.map(q => q.status), [304, 304], 'routine and pending: releases and advisories both asked, both 304')
  t.equal(unchanged.json().urgency, 'routine')

  gh.setAdvisories([{ ghsa_id: 'GHSA-late-late-late', cve_id: null, severity: 'critical', published_at: ago(0), vulnerabilities: [{ vulnerable_version_range: '<= 2026.9.6', patched_versions: '>= 2026.9.7' }] }])
  const upgraded = await watch()
  t.equal(upgraded.code, 0)
  t.same(gh.requests.map(q => `${q.path} ${q.status}`), ['/repos/openclaw/openclaw/releases 304', '/repos/openclaw/openclaw/security-advisories 200'])
  const doc = upgraded.json()
  t.equal(doc.urgency, 'critical')
  t.equal(doc.dueBy, plus(ago(2), 24), 'dueBy moved earlier: release time + 24 h')
  t.equal(doc.overdue, false)
  t.equal(doc.firstSeenAt, firstSeenAt, 'firstSeenAt never changes')
  t.equal(doc.recorded, true)
  const entry = JSON.parse(readFileSync(join(root, 'catalog', 'releases.json'), 'utf8')).releases[0]
  t.match(entry, { tag: '2026.9.7', urgency: 'critical', dueBy: doc.dueBy, firstSeenAt, advisories: [{ ghsaId: 'GHSA-late-late-late', cveId: null, severity: 'critical' }] })

  // withdrawn later: urgency never goes back down
  gh.setAdvisories([])
  const after = await watch()
  t.same(gh.requests.map(q => q.status), [304], 'recorded critical: advisories cannot change the decision, one request')
  t.equal(after.json().urgency, 'critical')
  t.equal(after.json().dueBy, doc.dueBy)
})

t.test('a secondary rate limit is waited out (Retry-After) by the real binary', async t => {
  const { gh, watch } = await setup(t, history())
  gh.secondaryLimitNext(1, 1)
  const started = Date.now()
  const r = await watch()
  t.equal(r.code, 0, r.stderr)
  t.same(gh.requests.map(q => q.status), [403, 200, 200])
  t.ok(Date.now() - started >= 1000, 'waited the 1 s GitHub asked for')
  t.match(r.json().warnings, [/secondary rate limit on GET .*releases.*waiting 1 s/, /nightly/])
  t.same(r.json().requests, { total: 3, notModified: 0 })
})

t.test('--no-record decides but writes no record', async t => {
  const { root, watch } = await setup(t, history())
  const r = await watch(['--no-record'])
  t.equal(r.code, 0, r.stderr)
  t.equal(r.json().action, 'bake')
  t.equal(r.json().recorded, false)
  t.notOk(existsSync(join(root, 'catalog', 'releases.json')))
})

t.test('human output without --json: stderr only, stdout empty', async t => {
  const { root } = await setup(t, history())
  const gh2 = await startGithubStandin()
  t.teardown(() => gh2.close())
  gh2.setReleases(history())
  const r = await clawbake(['watch'], { cwd: root, env: { CLAWBAKE_ROOT: root, GITHUB_API_URL: gh2.url, GITHUB_TOKEN: undefined } })
  t.equal(r.code, 0)
  t.equal(r.stdout, '')
  t.match(r.stderr, /action +bake 2026\.9\.7: routine, due by/)
})

t.test('the token reaches GitHub and nothing else', async t => {
  const token = `ghp_${Math.random().toString(36).slice(2)}${Date.now()}`
  const { gh, root, watch } = await setup(t, history(), [], { token })
  const r = await watch([], { GITHUB_TOKEN: token })
  t.equal(r.code, 0, r.stderr)
  t.ok(gh.requests.every(q => q.authenticated), 'every request is authenticated')
  t.notMatch(r.stdout + r.stderr, token)
  for (const [file, text] of snapshot(root)) t.notMatch(text, token, `${file} does not hold the token`)
})

t.test('bad input: one clear error, nothing written', async t => {
  const cases: {
    name: string; code: number; rule: RegExp | string
    seeds?: ReleaseSeed[]; args?: string[]; env?: Record<string, string>
    prepare?: (root: string, gh: GithubStandin) => void; opts?: StandinOptions; requests?: number
  }[] = [
    { name: 'empty release list', code: 1, rule: 'watch.no-eligible-release', seeds: [] },
    { name: 'all prereleases', code: 1, rule: 'watch.no-eligible-release', seeds: [{ tag_name: 'v2026.9.7-beta.1', prerelease: true }, { tag_name: 'v2026.9.8', prerelease: true }, { tag_name: 'nightly' }] },
    { name: 'pin record missing', code: 1, rule: 'pin.record-missing', prepare: root => rmSync(join(root, 'pins.lock.json')), requests: 0 },
    { name: 'pin record corrupt', code: 1, rule: 'pin.record-corrupt', prepare: root => writeFileSync(join(root, 'pins.lock.json'), '{"schemaVersion": 1, "tag": "2026.9'), requests: 0 },
    { name: 'pin record with a bad tag', code: 1, rule: 'pin.record-corrupt', prepare: root => {
      const p = join(root, 'pins.lock.json')
      writeFileSync(p, JSON.stringify({ ...JSON.parse(readFileSync(p, 'utf8')), tag: 'latest' }))
    }, requests: 0 },
    { name: 'release record corrupt', code: 1, rule: 'watch.record-corrupt', prepare: root => {
      mkdirSync(join(root, 'catalog'), { recursive: true })
      writeFileSync(join(root, 'catalog', 'releases.json'), JSON.stringify({ schemaVersion: 1, releases: [{ tag: '2026.9.7', urgency: 'soon' }] }))
    }, requests: 0 },
    { name: '401', code: 2, rule: 'github.unauthorized', opts: { token: 'ghp_right' }, env: { GITHUB_TOKEN: 'ghp_wrong' }, requests: 1 },
    { name: '404', code: 2, rule: 'github.not-found', args: ['--repo', 'openclaw/no-such-repo'], requests: 1 },
    { name: '5xx after retries', code: 2, rule: 'github.unavailable', env: { CLAWBAKE_GITHUB_RETRIES: '1' }, prepare: (_, gh) => gh.failNext(100, 502), requests: 2 },
    { name: 'rate limit', code: 2, rule: 'github.rate-limited', prepare: (_, gh) => gh.exhaustRateLimit(3600), requests: 1 },
    { name: 'truncated JSON', code: 2, rule: 'github.malformed-response', prepare: (_, gh) => gh.truncateNext(1), requests: 1 },
    { name: 'unknown channel', code: 2, rule: 'watch.channel-unknown', args: ['--channel', 'beta'], requests: 0 },
    { name: 'malformed --repo', code: 2, rule: 'watch.repo-malformed', args: ['--repo', 'openclaw'], requests: 0 },
    { name: 'unknown option', code: 2, rule: 'usage', args: ['--chanel', 'stable'], requests: 0 },
    { name: 'bad GITHUB_API_URL', code: 2, rule: 'github.api-url-invalid', env: { GITHUB_API_URL: 'api.github.com' }, requests: 0 },
  ]
  for (const c of cases) {
    await t.test(c.name, async t => {
      const { gh, root, watch } = await setup(t, c.seeds ?? history(), [], c.opts ?? {})
      gh.requests.length = 0
      c.prepare?.(root, gh)
      const before = snapshot(root)
      const r = await watch(c.args ?? [], c.env ?? {})
      t.equal(r.code, c.code, r.stderr)
      const doc = r.json() // exactly one JSON document
      t.equal(doc.ok, false)
      t.match(doc.error.rule, c.rule)
      t.type(doc.error.message, 'string')
      const lines = r.stderr.trim().split('\n').filter(l => !/warning:|^usage:/.test(l))
      t.equal(lines.length, 1, `one error line (and the usage): ${r.stderr}`)
      t.match(lines[0], `[${doc.error.rule}]`)
      t.same(snapshot(root), before, 'nothing written')
      if (c.requests !== undefined) t.equal(gh.requests.length, c.requests, `${c.requests} request(s)`)
    })
  }
})

t.test('a failure after a good poll leaves the cache and record as they were', async t => {
  const { gh, root, watch } = await setup(t, history())
  t.equal((await watch()).code, 0)
  const before = snapshot(root)
  t.ok(before.get('.clawbake/github-cache.json') && before.get('catalog/releases.json'))
  gh.setReleases([...history(), { tag_name: 'v2026.9.8' }])
  gh.truncateNext(1)
  const r = await watch()
  t.equal(r.code, 2)
  t.same(snapshot(root), before)
})
