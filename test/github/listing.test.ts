// The GitHub client against the loopback stand-in: pagination by Link header,
// conditional requests with an on-disk ETag cache, drafts, and one clear error
// per failure after retries. Back-off is scaled to milliseconds (timeUnitMs).
import t from 'tap'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { apiBaseUrl, createGithubClient, type GithubOptions } from '../../src/github/client.ts'
import { cachePath, loadEtagCache, saveEtagCache } from '../../src/github/etag-cache.ts'
import { nextLink } from '../../src/github/listing.ts'
import { listAdvisories, listReleases, parseRepo } from '../../src/github/releases.ts'
import { startGithubStandin, type GithubStandin, type ReleaseSeed } from '../standins/github.ts'

const repo = { owner: 'openclaw', name: 'openclaw' }
const fast: GithubOptions = { timeUnitMs: 5 }

type Teardown = { teardown(fn: () => unknown): void }

function stateDir(t: Teardown): string {
  const dir = mkdtempSync(join(tmpdir(), 'clawbake-gh-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return join(dir, '.clawbake')
}

async function standin(t: Teardown, opts: Parameters<typeof startGithubStandin>[0] = {}): Promise<GithubStandin> {
  const gh = await startGithubStandin(opts)
  t.teardown(() => gh.close())
  return gh
}

const seeds = (n: number): ReleaseSeed[] => Array.from({ length: n }, (_, i) => ({ tag_name: `v2026.${1 + Math.floor(i / 30)}.${1 + (i % 30)}` }))

async function caught(p: Promise<unknown>): Promise<any> {
  try {
    await p
  } catch (e) {
    return e
  }
  throw new Error('expected a rejection')
}

t.test('every page is read by following Link, the way GitHub writes it', async t => {
  const gh = await standin(t)
  gh.setReleases(seeds(250))
  const dir = stateDir(t)
  const client = createGithubClient({ GITHUB_API_URL: gh.url }, fast)
  const cache = loadEtagCache(cachePath(dir), () => {})
  const got = await listReleases(client, cache, repo)
  t.equal(got.items.length, 250)
  t.equal(new Set(got.items.map(r => r.tag_name)).size, 250, 'no release twice')
  t.equal(got.pages, 3)
  t.same(gh.requests.map(r => `${r.path}?${new URLSearchParams(r.query)}`), [
    '/repos/openclaw/openclaw/releases?per_page=100',
    '/repositories/1029384756/releases?per_page=100&page=2',
    '/repositories/1029384756/releases?per_page=100&page=3',
  ])
  t.equal(got.items[0]?.tag_name, 'v2026.9.10', 'newest first, as GitHub sorts')
  t.same(Object.keys(got.items[0]!).sort(), ['body', 'created_at', 'draft', 'html_url', 'name', 'prerelease', 'published_at', 'tag_name'], 'only the fields clawbake reads are kept')
})

t.test('a poll that finds nothing new is one request answered 304', async t => {
  const gh = await standin(t)
  gh.setReleases(seeds(250))
  const dir = stateDir(t)
  const first = loadEtagCache(cachePath(dir), () => {})
  await listReleases(createGithubClient({ GITHUB_API_URL: gh.url }, fast), first, repo)
  t.notOk(existsSync(cachePath(dir)), 'nothing is written until the caller saves')
  saveEtagCache(first)
  t.same(readdirSync(dir), ['github-cache.json'], 'the cache is written atomically: no temp file left')
  gh.requests.length = 0

  const client = createGithubClient({ GITHUB_API_URL: gh.url }, fast)
  const again = await listReleases(client, loadEtagCache(cachePath(dir), () => {}), repo)
  t.equal(gh.requests.length, 1, 'exactly one request')
  t.equal(gh.requests[0]?.status, 304)
  t.match(gh.requests[0]?.ifNoneMatch, /^W\/"[0-9a-f]{64}"$/)
  t.equal(again.notModified, true)
  t.equal(again.items.length, 250, 'the cached list is the list')
  t.same(client.stats, { requests: 1, notModified: 1 })

  // a new release changes page 1: the whole list is read again
  gh.setReleases([...seeds(250), { tag_name: 'v2026.10.1' }])
  gh.requests.length = 0
  const changed = await listReleases(client, loadEtagCache(cachePath(dir), () => {}), repo)
  t.equal(changed.notModified, false)
  t.equal(changed.items.length, 251)
  t.same(gh.requests.map(r => r.status), [200, 200, 200])
})

t.test('a corrupt or tampered cache is dropped, not trusted', async t => {
  const gh = await standin(t)
  gh.setReleases(seeds(3))
  const dir = stateDir(t)
  mkdirSync(dir, { recursive: true })
  writeFileSync(cachePath(dir), '{"schemaVersion":1,"entr')
  const warnings: string[] = []
  const cache = loadEtagCache(cachePath(dir), w => warnings.push(w))
  t.match(warnings, [/GitHub cache is corrupt/])
  const got = await listReleases(createGithubClient({ GITHUB_API_URL: gh.url }, fast), cache, repo)
  t.equal(got.items.length, 3)
  t.equal(gh.requests[0]?.ifNoneMatch, null)
  saveEtagCache(cache)
  // an entry whose items are not releases any more is not used for a 304
  const onDisk = JSON.parse(readFileSync(cachePath(dir), 'utf8'))
  const key = Object.keys(onDisk.entries)[0] as string
  onDisk.entries[key].items = [{ tag_name: 42 }]
  writeFileSync(cachePath(dir), JSON.stringify(onDisk))
  gh.requests.length = 0
  const again = await listReleases(createGithubClient({ GITHUB_API_URL: gh.url }, fast), loadEtagCache(cachePath(dir), () => {}), repo)
  t.equal(again.items.length, 3)
  t.same(gh.requests.map(r => [r.status, r.ifNoneMatch]), [[200, null]])
})

t.test('drafts are only listed for a token that may see them; the flags come through', async t => {
  const gh = await standin(t, { token: 'ghp_standin_only' })
  gh.setReleases([{ tag_name: 'v2026.9.6' }, { tag_name: 'v2026.9.7-beta.1', prerelease: true }, { tag_name: 'v2026.9.7', draft: true }])
  const anon = await listReleases(createGithubClient({ GITHUB_API_URL: gh.url }, fast), loadEtagCache(cachePath(stateDir(t)), () => {}), repo)
  t.same(anon.items.map(r => r.tag_name), ['v2026.9.7-beta.1', 'v2026.9.6'])
  t.equal(anon.items[0]?.prerelease, true)
  const authed = await listReleases(createGithubClient({ GITHUB_API_URL: gh.url, GITHUB_TOKEN: 'ghp_standin_only' }, fast), loadEtagCache(cachePath(stateDir(t)), () => {}), repo)
  const draft = authed.items.find(r => r.tag_name === 'v2026.9.7')
  t.equal(draft?.draft, true)
  t.equal(draft?.published_at, null)
  t.equal(gh.requests.at(-1)?.authenticated, true)
})

t.test('advisories: published only, cursor pagination, conditional', async t => {
  const gh = await standin(t)
  gh.setAdvisories([
    ...Array.from({ length: 120 }, (_, i) => ({ ghsa_id: `GHSA-${String(i).padStart(4, '0')}-aaaa-bbbb`, severity: 'low' as const, vulnerabilities: [{ vulnerable_version_range: '< 2026.2.1', patched_versions: '2026.2.1' }] })),
    { ghsa_id: 'GHSA-dddd-dddd-dddd', severity: 'critical', state: 'draft' },
  ])
  const dir = stateDir(t)
  const cache = loadEtagCache(cachePath(dir), () => {})
  const got = await listAdvisories(createGithubClient({ GITHUB_API_URL: gh.url }, fast), cache, repo)
  t.equal(got.items.length, 120, 'the draft advisory is not listed')
  t.equal(got.pages, 2)
  t.match(gh.requests[1]?.query, { after: /.+/, state: 'published' })
  t.same(got.items[0]?.vulnerabilities?.[0], { package: { ecosystem: 'npm', name: 'openclaw' }, vulnerable_version_range: '< 2026.2.1', patched_versions: '2026.2.1' })
  saveEtagCache(cache)
  gh.requests.length = 0
  const again = await listAdvisories(createGithubClient({ GITHUB_API_URL: gh.url }, fast), loadEtagCache(cachePath(dir), () => {}), repo)
  t.equal(again.notModified, true)
  t.same(gh.requests.map(r => r.status), [304])
})

t.test('5xx is retried with back-off, then one clear error', async t => {
  const gh = await standin(t)
  gh.setReleases(seeds(2))
  gh.failNext(2, 502)
  const ok = await listReleases(createGithubClient({ GITHUB_API_URL: gh.url }, { ...fast, retries: 3 }), loadEtagCache(cachePath(stateDir(t)), () => {}), repo)
  t.equal(ok.items.length, 2, 'two 502s then success')
  t.same(gh.requests.map(r => r.status), [502, 502, 200])

  gh.requests.length = 0
  gh.failNext(10, 502)
  const e = await caught(listReleases(createGithubClient({ GITHUB_API_URL: gh.url }, { ...fast, retries: 3 }), loadEtagCache(cachePath(stateDir(t)), () => {}), repo))
  t.equal(e.rule, 'github.unavailable')
  t.equal(e.exitCode, 2)
  t.match(e.message, /GitHub answered 502 \(Server Error\) after retries/)
  t.match(e.file, `${gh.url}/repos/openclaw/openclaw/releases`)
  t.equal(gh.requests.length, 4, 'one try and three retries')
})

t.test('401, 404, unreachable: one clear error each, no retry of 4xx', async t => {
  const gh = await standin(t, { token: 'ghp_right' })
  gh.setReleases(seeds(2))
  const c = (env: Record<string, string>) => createGithubClient({ GITHUB_API_URL: gh.url, ...env }, fast)
  const fresh = () => loadEtagCache(cachePath(stateDir(t)), () => {})
  const e401 = await caught(listReleases(c({ GITHUB_TOKEN: 'ghp_wrong_token_value' }), fresh(), repo))
  t.equal(e401.rule, 'github.unauthorized')
  t.equal(e401.field, 'GITHUB_TOKEN')
  t.match(e401.message, /401 Bad credentials.*check GITHUB_TOKEN/)
  t.notMatch(JSON.stringify(e401.toJSON()), /ghp_wrong_token_value/, 'the token is not in the error')
  t.equal(gh.requests.length, 1, '401 is not retried')

  const e404 = await caught(listReleases(c({}), fresh(), { owner: 'openclaw', name: 'nope' }))
  t.equal(e404.rule, 'github.not-found')
  t.match(e404.message, /check --repo/)

  const gone = await startGithubStandin()
  const url = gone.url
  await gone.close()
  const down = await caught(listReleases(createGithubClient({ GITHUB_API_URL: url }, { ...fast, retries: 1 }), fresh(), repo))
  t.equal(down.rule, 'github.unreachable')
  t.equal(down.exitCode, 2)
})

t.test('secondary rate limit: Retry-After is honoured, then the request succeeds', async t => {
  const gh = await standin(t)
  gh.setReleases(seeds(2))
  gh.secondaryLimitNext(1, 2)
  const warnings: string[] = []
  const started = Date.now()
  const got = await listReleases(createGithubClient({ GITHUB_API_URL: gh.url }, { timeUnitMs: 50, warn: w => warnings.push(w) }), loadEtagCache(cachePath(stateDir(t)), () => {}), repo)
  t.equal(got.items.length, 2)
  t.same(gh.requests.map(r => r.status), [403, 200])
  t.ok(Date.now() - started >= 100, 'waited Retry-After (2 s scaled to 2 x 50 ms)')
  t.match(warnings, [/secondary rate limit.*waiting 2 s/])

  gh.requests.length = 0
  gh.secondaryLimitNext(10, 1)
  const e = await caught(listReleases(createGithubClient({ GITHUB_API_URL: gh.url }, { ...fast, rateLimitRetries: 2 }), loadEtagCache(cachePath(stateDir(t)), () => {}), repo))
  t.equal(e.rule, 'github.rate-limited')
  t.match(e.message, /secondary rate limit.*retry after 1 s/)
  t.equal(gh.requests.length, 3, 'one try and two retries')
})

t.test('primary rate limit: a reset beyond the longest wait fails at once', async t => {
  const gh = await standin(t)
  gh.setReleases(seeds(2))
  gh.exhaustRateLimit(3600)
  const e = await caught(listReleases(createGithubClient({ GITHUB_API_URL: gh.url }, { ...fast, maxWaitSeconds: 60 }), loadEtagCache(cachePath(stateDir(t)), () => {}), repo))
  t.equal(e.rule, 'github.rate-limited')
  t.match(e.message, /API rate limit exceeded.*the limit resets at \d{4}-\d\d-\d\dT.*set GITHUB_TOKEN for a higher limit/)
  t.equal(gh.requests.length, 1, 'no waiting an hour')
})

t.test('a truncated body is one clear error', async t => {
  const gh = await standin(t)
  gh.setReleases(seeds(5))
  gh.truncateNext(1)
  const dir = stateDir(t)
  const cache = loadEtagCache(cachePath(dir), () => {})
  const e = await caught(listReleases(createGithubClient({ GITHUB_API_URL: gh.url }, fast), cache, repo))
  t.equal(e.rule, 'github.malformed-response')
  t.equal(e.field, '/')
  t.match(e.message, /the body is not JSON/)
  t.same(cache.entries, {}, 'nothing cached')
})

t.test('a release without the fields GitHub always sends is a malformed response', async t => {
  const gh = await standin(t)
  gh.setReleases([{ tag_name: 'v2026.9.6', published_at: 'yesterday' }])
  const e = await caught(listReleases(createGithubClient({ GITHUB_API_URL: gh.url }, fast), loadEtagCache(cachePath(stateDir(t)), () => {}), repo))
  t.equal(e.rule, 'github.malformed-response')
  t.equal(e.field, '/0/published_at')
  gh.setReleases([{ tag_name: 'v2026.9.6', published_at: 'Wed, 25 Nov 2026 04:00:00 GMT' }])
  const notIso = await caught(listReleases(createGithubClient({ GITHUB_API_URL: gh.url }, fast), loadEtagCache(cachePath(stateDir(t)), () => {}), repo))
  t.equal(notIso.field, '/0/published_at', 'times are ISO 8601 as GitHub writes them')
  gh.setReleases([{ tag_name: 'v2026.9.6' }])
  const ok = await listReleases(createGithubClient({ GITHUB_API_URL: gh.url }, fast), loadEtagCache(cachePath(stateDir(t)), () => {}), repo)
  t.equal(ok.items.length, 1)
})

t.test('GITHUB_API_URL and --repo are checked before any request', async t => {
  t.equal(apiBaseUrl({}), 'https://api.github.com')
  t.equal(apiBaseUrl({ GITHUB_API_URL: 'https://ghe.example.test/api/v3/' }), 'https://ghe.example.test/api/v3')
  t.throws(() => apiBaseUrl({ GITHUB_API_URL: 'not a url' }), { name: 'ClawbakeError', rule: 'github.api-url-invalid' })
  t.throws(() => apiBaseUrl({ GITHUB_API_URL: 'ftp://x.test' }), { name: 'ClawbakeError', rule: 'github.api-url-invalid' })
  t.throws(() => apiBaseUrl({ GITHUB_API_URL: 'http://ghe.example.test', GITHUB_TOKEN: 'x' }), { name: 'ClawbakeError', rule: 'github.insecure-api-url' })
  t.equal(apiBaseUrl({ GITHUB_API_URL: 'http://127.0.0.1:9', GITHUB_TOKEN: 'x' }), 'http://127.0.0.1:9', 'loopback may be plain http')
  t.throws(() => createGithubClient({ CLAWBAKE_GITHUB_RETRIES: 'lots' }), { name: 'ClawbakeError', rule: 'github.retries-invalid' })
  t.same(parseRepo('openclaw/openclaw'), { owner: 'openclaw', name: 'openclaw' })
  for (const bad of ['openclaw', 'a/b/c', '../x', 'a/..', '-x/y', 'a b/c', '']) t.equal(parseRepo(bad), null, `"${bad}"`)
  t.equal(nextLink('<https://api.github.com/repositories/1/releases?page=2>; rel="next", <https://api.github.com/repositories/1/releases?page=5>; rel="last"'), 'https://api.github.com/repositories/1/releases?page=2')
  t.equal(nextLink('<https://x.test/?page=1>; rel="prev"'), null)
  t.equal(nextLink(undefined), null)
})
