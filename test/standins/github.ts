// A loopback stand-in for the parts of the GitHub REST API clawbake uses:
//   GET /repos/{owner}/{repo}/releases            (page/per_page, Link with /repositories/{id}/... URLs)
//   GET /repositories/{id}/releases               (what GitHub's Link headers point at)
//   GET /repos/{owner}/{repo}/security-advisories (state filter, cursor pagination with after=)
// It answers like GitHub: the same JSON shapes, weak ETags and 304 on
// If-None-Match (a 304 does not use up rate limit), x-ratelimit-* headers,
// 401 "Bad credentials", 404 "Not Found", 403 primary and secondary rate
// limits (the latter with Retry-After), 5xx on demand, drafts only for an
// authenticated caller. Every request is counted.
import { createHash } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface ReleaseSeed {
  tag_name: string
  draft?: boolean
  prerelease?: boolean
  /** default: derived from the index so later seeds are newer */
  created_at?: string
  published_at?: string | null
  body?: string | null
  name?: string | null
}

export interface AdvisorySeed {
  ghsa_id: string
  cve_id?: string | null
  severity: 'critical' | 'high' | 'medium' | 'low' | null
  state?: 'published' | 'closed' | 'withdrawn' | 'draft' | 'triage'
  summary?: string
  published_at?: string | null
  vulnerabilities?: { package?: { ecosystem: string; name: string | null } | null; vulnerable_version_range: string | null; patched_versions: string | null }[]
}

export interface RequestLog {
  method: string
  path: string
  query: Record<string, string>
  status: number
  ifNoneMatch: string | null
  authenticated: boolean
}

export interface GithubStandin {
  url: string
  owner: string
  repo: string
  requests: RequestLog[]
  setReleases(seeds: ReleaseSeed[]): void
  setAdvisories(seeds: AdvisorySeed[]): void
  /** the next `n` requests are answered `status` (502 by default) */
  failNext(n: number, status?: number): void
  /** the next `n` requests hit the secondary rate limit (403 + Retry-After) */
  secondaryLimitNext(n: number, retryAfterSeconds?: number): void
  /** primary rate limit used up until `resetInSeconds` from now (403, x-ratelimit-remaining: 0) */
  exhaustRateLimit(resetInSeconds: number): void
  /** the next `n` 200 answers are cut off in the middle of the JSON */
  truncateNext(n: number): void
  close(): Promise<void>
}

export interface StandinOptions {
  owner?: string
  repo?: string
  /** when set, only this token is accepted (any other Authorization: 401); drafts are visible with it */
  token?: string
  /** rate limit per hour (GitHub: 60 anonymous, 5000 with a token) */
  limit?: number
}

const BASE_TIME = Date.parse('2026-01-01T00:00:00Z')
const REPO_ID = 1029384756

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')
}

export async function startGithubStandin(opts: StandinOptions = {}): Promise<GithubStandin> {
  const owner = opts.owner ?? 'openclaw'
  const repo = opts.repo ?? 'openclaw'
  let releases: Record<string, unknown>[] = []
  let advisories: Record<string, unknown>[] = []
  const requests: RequestLog[] = []
  let fail = { n: 0, status: 502 }
  let secondary = { n: 0, retryAfter: 1 }
  let exhaustedUntil = 0
  let truncate = 0
  const limit = opts.limit ?? (opts.token ? 5000 : 60)
  let used = 0
  const resetAt = Math.floor(Date.now() / 1000) + 3600
  let base = ''

  function releaseJson(s: ReleaseSeed, i: number): Record<string, unknown> {
    const id = 200000000 + i
    const created = s.created_at ?? iso(BASE_TIME + i * 3600_000)
    const draft = s.draft ?? false
    const tagPath = draft ? `untagged-${createHash('sha1').update(s.tag_name).digest('hex').slice(0, 20)}` : s.tag_name
    return {
      url: `${base}/repos/${owner}/${repo}/releases/${id}`,
      assets_url: `${base}/repos/${owner}/${repo}/releases/${id}/assets`,
      upload_url: `https://uploads.github.com/repos/${owner}/${repo}/releases/${id}/assets{?name,label}`,
      html_url: `https://github.com/${owner}/${repo}/releases/tag/${tagPath}`,
      id,
      author: { login: 'openclaw-release-bot', id: 90000001, node_id: 'MDQ6VXNlcjkwMDAwMDAx', type: 'Bot', site_admin: false },
      node_id: `RE_kwDOPcLaw${id}`,
      tag_name: s.tag_name,
      target_commitish: 'main',
      name: s.name === undefined ? s.tag_name.replace(/^v/, 'openclaw ') : s.name,
      draft,
      immutable: false,
      prerelease: s.prerelease ?? false,
      created_at: created,
      updated_at: created,
      published_at: draft ? null : s.published_at === undefined ? created : s.published_at,
      assets: [],
      tarball_url: `${base}/repos/${owner}/${repo}/tarball/${s.tag_name}`,
      zipball_url: `${base}/repos/${owner}/${repo}/zipball/${s.tag_name}`,
      body: s.body === undefined ? `## ${s.tag_name}\n\n### Changes\n- Routine fixes and improvements.\n` : s.body,
    }
  }

  function advisoryJson(s: AdvisorySeed, i: number): Record<string, unknown> {
    const published = s.published_at === undefined ? iso(BASE_TIME + i * 86400_000) : s.published_at
    return {
      ghsa_id: s.ghsa_id,
      cve_id: s.cve_id ?? null,
      url: `${base}/repos/${owner}/${repo}/security-advisories/${s.ghsa_id}`,
      html_url: `https://github.com/${owner}/${repo}/security/advisories/${s.ghsa_id}`,
      summary: s.summary ?? `OpenClaw advisory ${s.ghsa_id}`,
      description: `Details of ${s.ghsa_id}.`,
      severity: s.severity,
      author: null,
      publisher: { login: 'openclaw-security', id: 90000002, type: 'User', site_admin: false },
      identifiers: [{ type: 'GHSA', value: s.ghsa_id }, ...(s.cve_id ? [{ type: 'CVE', value: s.cve_id }] : [])],
      state: s.state ?? 'published',
      created_at: published,
      updated_at: published,
      published_at: (s.state ?? 'published') === 'published' ? published : null,
      closed_at: null,
      withdrawn_at: null,
      submission: null,
      vulnerabilities: (s.vulnerabilities ?? []).map(v => ({
        package: v.package === undefined ? { ecosystem: 'npm', name: 'openclaw' } : v.package,
        vulnerable_version_range: v.vulnerable_version_range,
        patched_versions: v.patched_versions,
        vulnerable_functions: [],
      })),
      cvss: null,
      cvss_severities: { cvss_v3: { vector_string: null, score: null }, cvss_v4: { vector_string: null, score: null } },
      cwes: [],
      cwe_ids: [],
      credits: [],
      credits_detailed: [],
      collaborating_users: null,
      collaborating_teams: null,
      private_fork: null,
    }
  }

  function rateHeaders(): Record<string, string> {
    return {
      'x-ratelimit-limit': String(limit),
      'x-ratelimit-remaining': String(Math.max(0, exhaustedUntil > Date.now() ? 0 : limit - used)),
      'x-ratelimit-reset': String(exhaustedUntil > Date.now() ? Math.ceil(exhaustedUntil / 1000) : resetAt),
      'x-ratelimit-used': String(used),
      'x-ratelimit-resource': 'core',
    }
  }

  function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): number {
    const text = body === undefined ? '' : JSON.stringify(body)
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'x-github-api-version-selected': '2022-11-28',
      'x-github-media-type': 'github.v3; format=json',
      'x-github-request-id': createHash('sha1').update(String(Math.random())).digest('hex').slice(0, 16).toUpperCase(),
      'access-control-expose-headers': 'ETag, Link, Location, Retry-After, X-GitHub-OTP, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Used, X-RateLimit-Resource, X-RateLimit-Reset',
      ...rateHeaders(),
      ...headers,
      ...(status === 304 ? {} : { 'content-length': String(Buffer.byteLength(text)) }),
    })
    res.end(status === 304 ? undefined : text)
    return status
  }

  function error(res: ServerResponse, status: number, message: string, docs: string, headers: Record<string, string> = {}): number {
    return send(res, status, { message, documentation_url: docs, status: String(status) }, headers)
  }

  function page(res: ServerResponse, req: IncomingMessage, all: unknown[], links: (n: { page?: number; after?: string }) => string, query: Record<string, string>, cursor: boolean): number {
    const perPage = Math.min(100, Math.max(1, Number(query.per_page ?? 30) || 30))
    let start = 0
    if (cursor && query.after) start = Number(Buffer.from(query.after, 'base64url').toString().replace(/^i:/, '')) || 0
    if (!cursor) start = (Math.max(1, Number(query.page ?? 1) || 1) - 1) * perPage
    const items = all.slice(start, start + perPage)
    const link: string[] = []
    if (start + perPage < all.length) {
      if (cursor) link.push(`<${links({ after: Buffer.from(`i:${start + perPage}`).toString('base64url') })}>; rel="next"`)
      else {
        const p = start / perPage + 1
        const last = Math.ceil(all.length / perPage)
        link.push(`<${links({ page: p + 1 })}>; rel="next"`, `<${links({ page: last })}>; rel="last"`)
      }
    }
    if (!cursor && start > 0) {
      const p = start / perPage + 1
      link.push(`<${links({ page: p - 1 })}>; rel="prev"`, `<${links({ page: 1 })}>; rel="first"`)
    }
    const text = JSON.stringify(items)
    const etag = `W/"${createHash('sha256').update(text).digest('hex')}"`
    const inm = req.headers['if-none-match']
    const headers: Record<string, string> = {
      etag,
      vary: 'Accept, Authorization, Cookie, X-GitHub-OTP,Accept-Encoding, Accept, X-Requested-With',
      'cache-control': req.headers.authorization ? 'private, max-age=60, s-maxage=60' : 'public, max-age=60, s-maxage=60',
      ...(link.length ? { link: link.join(', ') } : {}),
    }
    if (inm && inm.split(',').map(s => s.trim().replace(/^W\//, '')).includes(etag.replace(/^W\//, ''))) {
      return send(res, 304, undefined, headers) // conditional hits do not count against the rate limit
    }
    used++
    if (truncate > 0) {
      truncate--
      const cut = text.slice(0, Math.max(1, Math.floor(text.length / 2)))
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(cut)), ...rateHeaders(), ...headers })
      res.end(cut)
      return 200
    }
    return send(res, 200, items, headers)
  }

  const server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', base)
    const query = Object.fromEntries(u.searchParams)
    const auth = req.headers.authorization ?? null
    const given = auth?.replace(/^(token|bearer)\s+/i, '') ?? null
    const log: RequestLog = { method: req.method ?? 'GET', path: u.pathname, query, status: 0, ifNoneMatch: (req.headers['if-none-match'] as string | undefined) ?? null, authenticated: !!auth }
    requests.push(log)
    log.status = (() => {
      if (fail.n > 0) {
        fail.n--
        return error(res, fail.status, fail.status === 502 ? 'Server Error' : 'Service Unavailable', 'https://docs.github.com/rest')
      }
      if (auth && (!opts.token || given !== opts.token)) return error(res, 401, 'Bad credentials', 'https://docs.github.com/rest')
      if (secondary.n > 0) {
        secondary.n--
        return error(res, 403, 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID 9C3A:1F2E:3B4C5D:6E7F80:66A1B2C3.',
          'https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits', { 'retry-after': String(secondary.retryAfter) })
      }
      if (exhaustedUntil > Date.now()) {
        return error(res, 403, 'API rate limit exceeded for 127.0.0.1. (But here\'s the good news: Authenticated requests get a higher rate limit. Check out the documentation for more details.)',
          'https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting')
      }
      if (req.method !== 'GET') return error(res, 404, 'Not Found', 'https://docs.github.com/rest')
      const visible = releases.filter(r => !r.draft || (opts.token && given === opts.token))
        .sort((a, b) => String(b.created_at).localeCompare(String(a.created_at)))
      const m = /^\/repos\/([^/]+)\/([^/]+)\/(releases|security-advisories)$/.exec(u.pathname)
      if (m && m[1] === owner && m[2] === repo && m[3] === 'releases') {
        return page(res, req, visible, n => `${base}/repositories/${REPO_ID}/releases?per_page=${query.per_page ?? 30}&page=${n.page}`, query, false)
      }
      if (u.pathname === `/repositories/${REPO_ID}/releases`) {
        return page(res, req, visible, n => `${base}/repositories/${REPO_ID}/releases?per_page=${query.per_page ?? 30}&page=${n.page}`, query, false)
      }
      if (m && m[1] === owner && m[2] === repo && m[3] === 'security-advisories') {
        const state = query.state
        if (state && !['triage', 'draft', 'published', 'closed'].includes(state)) {
          return error(res, 422, 'Validation Failed', 'https://docs.github.com/rest/security-advisories/repository-advisories#list-repository-security-advisories')
        }
        const list = advisories.filter(a => !state || a.state === state)
          .sort((a, b) => String(b.created_at).localeCompare(String(a.created_at)))
        return page(res, req, list, n => `${base}/repos/${owner}/${repo}/security-advisories?per_page=${query.per_page ?? 30}${state ? `&state=${state}` : ''}&after=${n.after}`, query, true)
      }
      return error(res, 404, 'Not Found', 'https://docs.github.com/rest/releases/releases#list-releases')
    })()
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  return {
    url: base,
    owner,
    repo,
    requests,
    setReleases(seeds) { releases = seeds.map(releaseJson) },
    setAdvisories(seeds) { advisories = seeds.map(advisoryJson) },
    failNext(n, status = 502) { fail = { n, status } },
    secondaryLimitNext(n, retryAfterSeconds = 1) { secondary = { n, retryAfter: retryAfterSeconds } },
    exhaustRateLimit(resetInSeconds) { exhaustedUntil = Date.now() + resetInSeconds * 1000 },
    truncateNext(n) { truncate = n },
    async close() {
      server.closeAllConnections()
      await new Promise<void>(resolve => server.close(() => resolve()))
    },
  }
}
