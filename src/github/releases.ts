// GET /repos/{owner}/{repo}/releases (every page, 100 a page) and
// GET /repos/{owner}/{repo}/security-advisories?state=published, both
// conditional (see listing.ts). Items are checked field by field: a body
// that is not GitHub's release/advisory shape is one clear error.
import type { GithubAdvisory, Severity } from '../releases/advisory.ts'
import type { GithubRelease } from '../releases/release.ts'
import type { GithubClient } from './client.ts'
import type { EtagCache } from './etag-cache.ts'
import { fetchListing, type Listing } from './listing.ts'

export const PER_PAGE = 100

export interface Repo {
  owner: string
  name: string
}

export const DEFAULT_REPO = 'openclaw/openclaw'

const REPO_RE = /^([A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))\/([A-Za-z0-9._-]{1,100})$/

export function parseRepo(text: string): Repo | null {
  const m = REPO_RE.exec(text)
  if (!m || m[2] === '.' || m[2] === '..') return null
  return { owner: m[1] as string, name: m[2] as string }
}

type Obj = Record<string, unknown>
const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x)
const str = (x: unknown) => typeof x === 'string'
const strOrNull = (x: unknown) => x === null || typeof x === 'string'
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/
const isTime = (x: unknown) => typeof x === 'string' && ISO_TIME.test(x) && !Number.isNaN(Date.parse(x))

export function readRelease(item: unknown): GithubRelease | string {
  if (!isObj(item)) return ''
  if (!str(item.tag_name)) return '/tag_name'
  if (typeof item.draft !== 'boolean') return '/draft'
  if (typeof item.prerelease !== 'boolean') return '/prerelease'
  if (!isTime(item.created_at)) return '/created_at'
  if (!(item.published_at === null || isTime(item.published_at))) return '/published_at'
  if (!str(item.html_url)) return '/html_url'
  if (!strOrNull(item.body ?? null)) return '/body'
  if (!strOrNull(item.name ?? null)) return '/name'
  return {
    tag_name: item.tag_name as string,
    name: (item.name ?? null) as string | null,
    draft: item.draft,
    prerelease: item.prerelease,
    created_at: item.created_at as string,
    published_at: item.published_at as string | null,
    html_url: item.html_url as string,
    body: (item.body ?? null) as string | null,
  }
}

const SEVERITIES: readonly (Severity | null)[] = ['critical', 'high', 'medium', 'low', null]

export function readAdvisory(item: unknown): GithubAdvisory | string {
  if (!isObj(item)) return ''
  if (!str(item.ghsa_id) || !/^GHSA(-[0-9a-z]{4}){3}$/i.test(item.ghsa_id as string)) return '/ghsa_id'
  if (!strOrNull(item.cve_id ?? null)) return '/cve_id'
  if (!SEVERITIES.includes((item.severity ?? null) as Severity | null)) return '/severity'
  if (!str(item.state)) return '/state'
  if (!(item.published_at === null || item.published_at === undefined || isTime(item.published_at))) return '/published_at'
  const vulns = item.vulnerabilities ?? null
  if (!(vulns === null || Array.isArray(vulns))) return '/vulnerabilities'
  const vulnerabilities: NonNullable<GithubAdvisory['vulnerabilities']> = []
  for (const [i, v] of ((vulns ?? []) as unknown[]).entries()) {
    if (!isObj(v)) return `/vulnerabilities/${i}`
    const pkg = v.package ?? null
    if (!(pkg === null || (isObj(pkg) && str(pkg.ecosystem) && strOrNull(pkg.name ?? null)))) return `/vulnerabilities/${i}/package`
    if (!strOrNull(v.vulnerable_version_range ?? null)) return `/vulnerabilities/${i}/vulnerable_version_range`
    if (!strOrNull(v.patched_versions ?? null)) return `/vulnerabilities/${i}/patched_versions`
    vulnerabilities.push({
      package: pkg === null ? null : { ecosystem: (pkg as Obj).ecosystem as string, name: ((pkg as Obj).name ?? null) as string | null },
      vulnerable_version_range: (v.vulnerable_version_range ?? null) as string | null,
      patched_versions: (v.patched_versions ?? null) as string | null,
    })
  }
  return {
    ghsa_id: item.ghsa_id as string,
    cve_id: (item.cve_id ?? null) as string | null,
    severity: (item.severity ?? null) as Severity | null,
    state: item.state as string,
    published_at: (item.published_at ?? null) as string | null,
    ...(str(item.summary) ? { summary: item.summary as string } : {}),
    vulnerabilities: vulns === null ? null : vulnerabilities,
  }
}

function repoUrl(client: GithubClient, repo: Repo, path: string): string {
  return `${client.baseUrl}/repos/${encodeURIComponent(repo.owner)}/${encodeURIComponent(repo.name)}/${path}`
}

export async function listReleases(client: GithubClient, cache: EtagCache, repo: Repo): Promise<Listing<GithubRelease>> {
  const url = repoUrl(client, repo, `releases?per_page=${PER_PAGE}`)
  return fetchListing(client, cache, url, `releases of ${repo.owner}/${repo.name}`, readRelease)
}

export async function listAdvisories(client: GithubClient, cache: EtagCache, repo: Repo): Promise<Listing<GithubAdvisory>> {
  const url = repoUrl(client, repo, `security-advisories?state=published&per_page=${PER_PAGE}`)
  return fetchListing(client, cache, url, `security advisories of ${repo.owner}/${repo.name}`, readAdvisory)
}
