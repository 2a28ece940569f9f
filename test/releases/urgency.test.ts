// Choosing the release per channel, and its urgency from advisories and notes.
import t from 'tap'
import { exposes, patchedIn, type GithubAdvisory } from '../../src/releases/advisory.ts'
import { chooseLatest, readReleases, type GithubRelease } from '../../src/releases/release.ts'
import { assessUrgency, dueBy, securitySignals } from '../../src/releases/urgency.ts'
import { parseVersion } from '../../src/releases/version.ts'

let clock = Date.parse('2026-09-01T00:00:00Z')
function rel(tag: string, extra: Partial<GithubRelease> = {}): GithubRelease {
  clock += 3600_000
  const at = new Date(clock).toISOString()
  return { tag_name: tag, name: tag, draft: false, prerelease: false, created_at: at, published_at: at, html_url: `https://github.com/openclaw/openclaw/releases/tag/${tag}`, body: 'Fixes: routine.', ...extra }
}
function adv(id: string, severity: GithubAdvisory['severity'], range: string | null, patched: string | null, extra: Partial<GithubAdvisory> = {}): GithubAdvisory {
  return {
    ghsa_id: id, cve_id: null, severity, state: 'published', published_at: '2026-09-02T00:00:00Z',
    vulnerabilities: [{ package: { ecosystem: 'npm', name: 'openclaw' }, vulnerable_version_range: range, patched_versions: patched }], ...extra,
  }
}
const v = (s: string) => parseVersion(s)

t.test('the newest eligible release per channel', async t => {
  const list = readReleases([
    rel('v2026.9.5'), rel('v2026.6.35'), rel('v2026.9.6'), rel('v2026.9.7-beta.1', { prerelease: true }),
    rel('v2026.7.35'), rel('v2026.9.8-beta.2'), rel('v2026.9.7', { draft: true, published_at: null }),
    rel('v2026.7.36', { prerelease: true }), rel('v2026.1.20'), rel('nightly'), rel('v2026.9.6-1'),
  ])
  t.same(list.malformed.map(m => m.tag), ['nightly'])
  const stable = chooseLatest(list.releases, 'stable')
  t.equal(stable.latest?.version.version, '2026.9.6-1', 'the correction beats its base; beta, draft skipped')
  t.match(stable.ineligible, [
    { tag: '2026.9.8-beta.2', reason: /prerelease/ },
    { tag: '2026.9.7', reason: /draft/ },
    { tag: '2026.9.7-beta.1', reason: /prerelease/ },
  ])
  const ext = chooseLatest(list.releases, 'extended-stable')
  t.equal(ext.latest?.version.version, '2026.7.35', 'GitHub prerelease flag honoured on 2026.7.36')
  t.ok(ext.ineligible.some(s => s.tag === '2026.7.36' && /marked prerelease on GitHub/.test(s.reason)))
})

t.test('one release per version: a published release wins over a draft of it', async t => {
  const list = readReleases([
    rel('v2026.9.7', { draft: true, published_at: null }), // GitHub lists the newer draft first
    rel('v2026.9.7'),
    rel('2026.9.7'),
  ])
  t.equal(list.releases.length, 1)
  t.equal(list.releases[0]?.draft, false)
  t.equal(chooseLatest(list.releases, 'stable').latest?.tagName, 'v2026.9.7')
})

t.test('empty, all-prerelease and below-floor lists choose nothing', async t => {
  t.equal(chooseLatest([], 'stable').latest, null)
  const pre = readReleases([rel('v2026.9.7-beta.1', { prerelease: true }), rel('v2026.9.8-alpha.1')])
  t.equal(chooseLatest(pre.releases, 'stable').latest, null)
  const old = readReleases([rel('v2026.1.28'), rel('v2025.12.3')])
  const c = chooseLatest(old.releases, 'stable')
  t.equal(c.latest, null)
  t.ok(c.ineligible.every(s => /security floor/.test(s.reason)))
  const junk = readReleases([rel('latest'), rel(' v2026.9.6'), rel('v2026.9.6 '), rel('release-2026.9.6')])
  t.equal(junk.releases.length, 0, 'malformed tags are never chosen (no trimming, no guessing)')
  t.equal(junk.malformed.length, 4)
})

t.test('advisory exposure and patches, failing closed', async t => {
  const a = adv('GHSA-aaaa-bbbb-cccc', 'high', '<= 2026.2.21-2', '2026.2.22')
  t.ok(exposes(a, v('2026.2.21-2')))
  t.notOk(exposes(a, v('2026.2.22')))
  t.ok(patchedIn(a, v('2026.2.22')), 'a bare patched version means "this one and later"')
  t.ok(patchedIn(a, v('2026.9.6')))
  t.notOk(patchedIn(a, v('2026.2.21-2')))
  const ranged = adv('GHSA-aaaa-bbbb-dddd', 'critical', '< 2026.2.14', '>= 2026.2.14')
  t.ok(patchedIn(ranged, v('2026.2.14')))
  t.notOk(patchedIn(ranged, v('2026.2.13')))
  const noRange = adv('GHSA-aaaa-bbbb-eeee', 'high', null, null)
  t.ok(exposes(noRange, v('2026.9.6')), 'no vulnerable range: everything is exposed')
  t.notOk(patchedIn(noRange, v('2026.9.7')), 'and nothing is known to be patched')
  const garbage = adv('GHSA-aaaa-bbbb-ffff', 'high', 'all versions before the fix', '2026.9.7')
  t.ok(exposes(garbage, v('2026.9.6')), 'an unreadable range counts as exposed')
  t.ok(patchedIn(garbage, v('2026.9.7')))
  const twoLines = adv('GHSA-aaaa-bbbb-gggg', 'high', null, null, {
    vulnerabilities: [
      { package: { ecosystem: 'npm', name: 'openclaw' }, vulnerable_version_range: '< 2026.3.23-2', patched_versions: '2026.3.23-2' },
      { package: { ecosystem: 'npm', name: 'openclaw' }, vulnerable_version_range: '>= 2026.4.1, < 2026.4.22', patched_versions: '2026.4.22' },
    ],
  })
  t.ok(exposes(twoLines, v('2026.4.10')))
  t.notOk(exposes(twoLines, v('2026.3.24')))
  t.notOk(patchedIn(twoLines, v('2026.4.10')), 'inside the second vulnerable range')
  t.ok(patchedIn(twoLines, v('2026.4.22')))
  t.ok(patchedIn(twoLines, v('2026.3.23-2')), 'the correction patches the first line')
  const otherPkg = adv('GHSA-aaaa-bbbb-hhhh', 'critical', null, null, {
    vulnerabilities: [{ package: { ecosystem: 'npm', name: '@openclaw/feishu' }, vulnerable_version_range: '< 9.9.9', patched_versions: '9.9.9' }],
  })
  t.notOk(exposes(otherPkg, v('2026.9.6')), 'another package is not the pin')
})

t.test('urgency: advisories the pin is exposed to and the release fixes', async t => {
  const releases = readReleases([rel('v2026.9.6'), rel('v2026.9.7')]).releases
  const latest = releases[1]!
  const pin = v('2026.9.6')
  const routine = assessUrgency({ release: latest, pin, releases, advisories: [] })
  t.equal(routine.urgency, 'routine')
  t.equal(routine.dueBy, new Date(Date.parse(latest.publishedAt) + 7 * 86400_000).toISOString())
  t.same(routine.reasons, [])

  const critical = assessUrgency({ release: latest, pin, releases, advisories: [adv('GHSA-xmxx-7p24-h892', 'high', '< 2026.9.7', '2026.9.7', { cve_id: 'CVE-2026-40001' })] })
  t.equal(critical.urgency, 'critical')
  t.equal(critical.dueBy, new Date(Date.parse(latest.publishedAt) + 24 * 3600_000).toISOString())
  t.same(critical.advisories, [{ ghsaId: 'GHSA-xmxx-7p24-h892', cveId: 'CVE-2026-40001', severity: 'high' }])
  t.match(critical.reasons[0], /GHSA-xmxx-7p24-h892 \(CVE-2026-40001\), high: 2026\.9\.6 is vulnerable, 2026\.9\.7 is patched/)

  const cases: [string, GithubAdvisory, 'critical' | 'routine', number][] = [
    ['medium severity is listed but routine', adv('GHSA-mmmm-mmmm-mmmm', 'medium', '< 2026.9.7', '2026.9.7'), 'routine', 1],
    ['the pin is not exposed', adv('GHSA-nnnn-nnnn-nnnn', 'critical', '< 2026.9.6', '2026.9.6'), 'routine', 0],
    ['the release is not patched', adv('GHSA-pppp-pppp-pppp', 'critical', '<= 2026.9.7', '2026.9.8'), 'routine', 0],
    ['withdrawn advisories do not count', adv('GHSA-wwww-wwww-wwww', 'critical', '< 2026.9.7', '2026.9.7', { state: 'withdrawn' }), 'routine', 0],
    ['unknown severity is read as high', adv('GHSA-uuuu-uuuu-uuuu', null, '< 2026.9.7', '2026.9.7'), 'critical', 1],
    ['a critical one in a correction range', adv('GHSA-cccc-cccc-cccc', 'critical', '>= 2026.9.1, < 2026.9.6-1', '2026.9.6-1'), 'critical', 1],
  ]
  for (const [name, a, want, n] of cases) {
    const r = assessUrgency({ release: latest, pin, releases, advisories: [a] })
    t.equal(r.urgency, want, name)
    t.equal(r.advisories.length, n, `${name}: ${n} advisory listed`)
  }
})

t.test('urgency: release notes of what the pin lacks', async t => {
  const releases = readReleases([
    rel('v2026.9.5', { body: 'Security: fixed an RCE (GHSA-old0-old0-old0).' }),
    rel('v2026.9.6'),
    rel('v2026.9.7-beta.1', { prerelease: true, body: '- Gateway: auth bypass via stale token fixed.' }),
    rel('v2026.9.7', { body: '- Fixes: many things.' }),
    rel('v2026.9.8', { body: '- CVE-2026-55555 fixed in exec approvals' }),
  ]).releases
  const pin = v('2026.9.6')
  const at = (tag: string) => releases.find(r => r.tagName === tag)!
  const r = assessUrgency({ release: at('v2026.9.7'), pin, releases, advisories: [] })
  t.equal(r.urgency, 'critical', 'the beta before the release said auth bypass')
  t.match(r.reasons, [/v2026\.9\.7-beta\.1 mention "auth bypass"/])
  t.notOk(r.reasons.some(x => x.includes('v2026.9.5')), 'notes of releases the pin already has are not read')
  const onlyOld = readReleases([rel('v2026.9.5', { body: 'Security fix' }), rel('v2026.9.6'), rel('v2026.9.7')]).releases
  t.equal(assessUrgency({ release: onlyOld[2]!, pin, releases: onlyOld, advisories: [] }).urgency, 'routine')
  // a GHSA the pin is known not to be exposed to is no alarm
  const known = readReleases([rel('v2026.9.6'), rel('v2026.9.7', { body: 'Fixes GHSA-qqqq-qqqq-qqqq (regression in 2026.9.7-beta.1)' })]).releases
  const harmless = adv('GHSA-qqqq-qqqq-qqqq', 'high', '>= 2026.9.7-beta.1, < 2026.9.7', '2026.9.7')
  t.equal(assessUrgency({ release: known[1]!, pin, releases: known, advisories: [harmless] }).urgency, 'routine')
  t.equal(assessUrgency({ release: known[1]!, pin, releases: known, advisories: [] }).urgency, 'critical', 'unknown GHSA: critical')
})

t.test('a pin below the security floor makes any newer release critical', async t => {
  const releases = readReleases([rel('v2026.9.7')]).releases
  const r = assessUrgency({ release: releases[0]!, pin: v('2026.1.20'), releases, advisories: [] })
  t.equal(r.urgency, 'critical')
  t.match(r.reasons, [/below the security floor 2026\.1\.29/])
})

t.test('security signals in notes', async t => {
  t.same(securitySignals('Fixes GHSA-G8P2-7WF7-98MQ and cve-2026-25253.'), ['GHSA-g8p2-7wf7-98mq', 'CVE-2026-25253'])
  t.same(securitySignals('RCE in the canvas'), ['"RCE"'])
  t.same(securitySignals('authentication bypass'), ['"auth bypass"'])
  t.same(securitySignals('sources: forced, pierced'), [], 'no "rce" inside words')
  t.same(securitySignals('Improved docs; faster startup.'), [])
  t.equal(dueBy('2026-11-20T10:00:00Z', 'critical'), '2026-11-21T10:00:00.000Z')
  t.equal(dueBy('2026-11-20T10:00:00Z', 'routine'), '2026-11-27T10:00:00.000Z')
})
