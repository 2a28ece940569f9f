// The OpenClaw version scheme against the real upstream history:
// test/fixtures/openclaw-npm-versions.json is `npm view openclaw versions --json`
// as fetched on 2026-11-25 (133 versions, npm's semver order).
import t from 'tap'
import { readFileSync } from 'node:fs'
import semver from 'semver'
import { ClawbakeError } from '../../src/errors.ts'
import {
  belowFloor, compareVersions, ineligibility, isVersionRange, parseVersion, satisfiesRange, sortVersions,
  SECURITY_FLOOR, tryParseVersion, type OpenclawVersion,
} from '../../src/releases/version.ts'

const history: string[] = JSON.parse(readFileSync(new URL('../fixtures/openclaw-npm-versions.json', import.meta.url), 'utf8'))
const v = (s: string) => parseVersion(s)
const order = (list: string[]) => sortVersions(list.map(v)).map(x => x.version)

t.test('the real history parses, except the one version that is not an OpenClaw release', async t => {
  t.equal(history.length, 133)
  const rejected = history.filter(s => tryParseVersion(s) === null)
  t.same(rejected, ['0.0.1'], '0.0.1 (a 2026-04 placeholder on npm) is not vYYYY.M.PATCH')
  for (const s of history.filter(s => s !== '0.0.1')) {
    const p = parseVersion(s)
    t.equal(p.version, s, `${s} round-trips`)
    t.equal(p.tag, `v${s}`)
  }
})

t.test('OpenClaw order differs from npm (semver) order exactly at the corrections', async t => {
  const parsed = history.filter(s => s !== '0.0.1')
  const ours = order(parsed)
  const npm = [...parsed].sort(semver.compare)
  t.same(npm, parsed, 'npm lists versions in semver order')
  t.not(ours.join(' '), npm.join(' '), 'semver order is not OpenClaw order')
  // corrections sort after their base, and after the base's betas
  const idx = (s: string) => ours.indexOf(s)
  t.ok(idx('2026.2.2') < idx('2026.2.2-3'), '2026.2.2-3 is after 2026.2.2')
  t.ok(semver.lt('2026.2.2-3', '2026.2.2'), 'semver gets it backwards')
  t.ok(idx('2026.3.23') < idx('2026.3.23-1') && idx('2026.3.23-1') < idx('2026.3.23-2'), '2026.3.23 < -1 < -2')
  t.ok(idx('2026.3.23-2') < idx('2026.3.24-beta.2'), 'a correction is before the next version')
  t.same(ours.slice(idx('2026.7.1-beta.1'), idx('2026.7.1-2') + 1),
    ['2026.7.1-beta.1', '2026.7.1-beta.2', '2026.7.1-beta.4', '2026.7.1-beta.5', '2026.7.1-beta.6', '2026.7.1', '2026.7.1-1', '2026.7.1-2'])
  t.ok(semver.lt('2026.7.1-2', '2026.7.1-beta.1'), 'semver puts 2026.7.1-2 before the betas')
  // every pair agrees with compareVersions and the order is total
  for (let i = 1; i < ours.length; i++) t.ok(compareVersions(v(ours[i - 1] as string), v(ours[i] as string)) < 0, `${ours[i - 1]} < ${ours[i]}`)
  t.equal(ours.at(-1), '2026.9.6')
})

t.test('betas and alphas are prereleases; corrections are releases', async t => {
  t.equal(v('2026.5.16-beta.7').prerelease, true)
  t.same(v('2026.5.16-beta.7').pre, { kind: 'beta', n: 7 })
  t.equal(v('2026.1.2-alpha.3').prerelease, true)
  t.ok(compareVersions(v('2026.1.2-alpha.3'), v('2026.1.2-beta.1')) < 0, 'alpha before beta')
  t.ok(compareVersions(v('2026.5.16-beta.2'), v('2026.5.16-beta.10')) < 0, 'beta.N is numeric')
  t.equal(v('2026.3.23-1').prerelease, false)
  t.equal(v('2026.3.23-2').correction, 2)
  t.equal(v('2026.3.23').correction, 0)
  t.equal(ineligibility(v('2026.3.23-2'), { channel: 'stable' }), null, 'a correction is baked on stable')
  t.match(ineligibility(v('2026.9.1-beta.1'), { channel: 'stable' }), /prerelease/)
  t.equal(ineligibility(v('2026.9.1-beta.1'), { channel: 'stable', allowPrerelease: true }), null)
})

t.test('PATCH >= 33 is the extended-stable line', async t => {
  t.equal(v('2026.6.33').channel, 'extended-stable')
  t.equal(v('2026.6.35').channel, 'extended-stable')
  t.equal(v('2026.6.11').channel, 'stable')
  t.equal(v('2026.6.32').channel, 'stable')
  t.match(ineligibility(v('2026.6.33'), { channel: 'stable' }), /extended-stable line, not stable/)
  t.equal(ineligibility(v('2026.6.33'), { channel: 'extended-stable' }), null)
  t.match(ineligibility(v('2026.9.6'), { channel: 'extended-stable' }), /stable line, not extended-stable/)
  const ext = history.filter(s => tryParseVersion(s)?.channel === 'extended-stable')
  t.same(ext, ['2026.6.33', '2026.6.34', '2026.6.35', '2026.7.33', '2026.7.34', '2026.7.35'])
})

t.test('the security floor is never eligible, whatever is asked', async t => {
  t.equal(SECURITY_FLOOR, '2026.1.29')
  t.equal(belowFloor(v('2026.1.29')), false)
  t.equal(belowFloor(v('2026.1.28')), true)
  t.equal(belowFloor(v('2026.1.29-beta.1')), true, 'a beta of the floor is below it')
  t.equal(belowFloor(v('2025.12.31')), true)
  t.match(ineligibility(v('2026.1.28'), { channel: 'stable', allowPrerelease: true }), /security floor 2026\.1\.29/)
  t.match(ineligibility(v('2026.1.29-beta.1'), { channel: 'stable', allowPrerelease: true }), /security floor/)
  t.match(ineligibility(v('2025.12.40'), { channel: 'extended-stable' }), /security floor/)
  t.equal(ineligibility(v('2026.1.29'), { channel: 'stable' }), null, 'the floor itself is fine')
})

t.test('malformed input is rejected with one clear error, never guessed', async t => {
  const bad = [
    '0.0.1', '2026.9', '2026.9.6.1', '26.9.6', '2026.09.6', '2026.9.06', '2026.0.1', '2026.13.1', '2026.9.0',
    '2026.9.6-rc.1', '2026.9.6-beta', '2026.9.6-beta.0', '2026.9.6-0', '2026.9.6-01', '2026.9.6+build.1',
    'V2026.9.6', 'vv2026.9.6', 'latest', '', 'v', '2026.9.6-beta.1-1', '2026.9.6-1.2', `2026.9.${'9'.repeat(20)}`,
  ]
  for (const s of bad) {
    t.equal(tryParseVersion(s), null, `"${s}" is not a version`)
    t.throws(() => parseVersion(s), { name: 'ClawbakeError', rule: 'version.malformed' }, `"${s}" throws`)
  }
  const e = (() => { try { parseVersion('2026.9', { file: 'pins.lock.json', field: '/tag' }) } catch (e) { return e } })() as ClawbakeError
  t.equal(e.file, 'pins.lock.json')
  t.equal(e.field, '/tag')
  t.equal(e.exitCode, 1, 'a bad value in a file is a failed check')
  t.equal(((() => { try { parseVersion('x') } catch (e) { return e } })() as ClawbakeError).exitCode, 2, 'a bad argument is a usage error')
  t.match(e.describe(), /^pins\.lock\.json: \/tag: \[version\.malformed\] "2026\.9" is not an OpenClaw version/)
})

t.test('the v is optional and dropped from the Docker tag', async t => {
  t.equal(v('v2026.3.23-1').version, '2026.3.23-1')
  t.equal(v('2026.3.23-1').tag, 'v2026.3.23-1')
  t.equal(compareVersions(v('v2026.9.6'), v('2026.9.6')), 0)
})

t.test('satisfiesRange reads advisory ranges in OpenClaw order', async t => {
  const cases: [string, string, boolean][] = [
    // corrections are after their base (semver says the opposite)
    ['2026.3.23-1', '< 2026.3.23', false],
    ['2026.3.23-1', '>= 2026.3.23', true],
    ['2026.3.23-2', '> 2026.3.23-1', true],
    ['2026.2.21-2', '<= 2026.2.21-2', true],
    ['2026.2.21', '<= 2026.2.21-2', true],
    ['2026.2.22', '<= 2026.2.21-2', false],
    ['2026.2.2-3', '>= 2026.2.2, < 2026.2.3', true],
    // betas are before their base
    ['2026.5.16-beta.7', '< 2026.5.16', true],
    ['2026.5.16-beta.7', '>= 2026.5.16-beta.2', true],
    ['2026.5.16-beta.1', '>= 2026.5.16-beta.2', false],
    // comma is AND, || is OR, v prefix allowed, bare version is exact
    ['2026.4.10', '>= 2026.4.7, < 2026.4.15', true],
    ['2026.4.15', '>= 2026.4.7, < 2026.4.15', false],
    ['2026.9.6', '>=v2026.4.7 <v2026.4.15 || >= 2026.9.1', true],
    ['2026.9.6', '2026.9.6', true],
    ['2026.9.7', '2026.9.6', false],
    ['2026.9.6', '*', true],
    // bounds that are not OpenClaw releases still order (x, caret, tilde, .0, partial)
    ['2026.3.23', '>= 2026.3.0, < 2026.4.22', true],
    ['2026.4.22', '>= 2026.3.0, < 2026.4.22', false],
    ['2026.3.23', '2026.3.x', true],
    ['2026.4.1', '2026.3.x', false],
    ['2026.3.23-2', '2026.3.x', true],
    ['2026.9.6', '^2026.1.29', true],
    ['2027.1.1', '^2026.1.29', false],
    ['2026.3.31', '< 2026.4', true],
    ['2026.4.1', '< 2026.4', false],
    ['2026.3.24', '~2026.3.1', true],
  ]
  for (const [ver, range, want] of cases) t.equal(satisfiesRange(v(ver), range), want, `${ver} ${want ? 'in' : 'not in'} "${range}"`)
})

t.test('a range that cannot be read is reported as such, not as "not affected"', async t => {
  for (const r of ['', '   ', 'garbage', 'all versions', '< 2026.4.0-rc.1', '>= 2026.3.23-beta']) {
    t.equal(isVersionRange(r), false, `"${r}" is not a range`)
    t.equal(satisfiesRange(v('2026.3.23'), r), false)
  }
  for (const r of ['< 2026.1.29', '>= 2026.3.0, < 2026.4.22', '2026.2.22', '<= 2026.2.21-2', '*']) t.equal(isVersionRange(r), true, `"${r}" is a range`)
})

t.test('sortVersions does not mutate and keeps extra fields', async t => {
  const input = ['2026.3.23-1', '2026.3.23', '2026.3.23-beta.1'].map(s => ({ ...v(s), extra: s })) as (OpenclawVersion & { extra: string })[]
  const sorted = sortVersions(input)
  t.same(sorted.map(x => x.extra), ['2026.3.23-beta.1', '2026.3.23', '2026.3.23-1'])
  t.same(input.map(x => x.extra), ['2026.3.23-1', '2026.3.23', '2026.3.23-beta.1'])
})
