// The GitHub REST client: @octokit/rest with the retry plugin (5xx and network
// failures, with back-off) and the throttling plugin (primary and secondary
// rate limits, honouring Retry-After). GITHUB_API_URL (default
// https://api.github.com, as in GitHub Actions) and GITHUB_TOKEN (optional)
// come from the environment passed in. Every failure that survives the
// retries becomes ONE ClawbakeError with a stable rule id (exit 2).
import { Octokit } from '@octokit/rest'
import { retry } from '@octokit/plugin-retry'
import { throttling } from '@octokit/plugin-throttling'
import { ClawbakeError, envError } from '../errors.ts'
import { isLoopbackHost } from '../loopback.ts'
import { fetch } from '../http/request.ts'

export const DEFAULT_API_URL = 'https://api.github.com'

const ClawbakeOctokit = Octokit.plugin(retry, throttling)
export type GithubOctokit = InstanceType<typeof ClawbakeOctokit>

export interface GithubOptions {
  /** retries of a 5xx / network failure (default CLAWBAKE_GITHUB_RETRIES or 3; back-off 1, 4, 9 time units) */
  retries?: number
  /** retries of a rate-limited request (default 2) */
  rateLimitRetries?: number
  /** the longest rate-limit wait honoured, in seconds; beyond it the request fails (default 60) */
  maxWaitSeconds?: number
  /** milliseconds per second of back-off or Retry-After (default 1000; tests pass a few ms) */
  timeUnitMs?: number
  /** where warnings go (rate-limit waits, retries) */
  warn?: (line: string) => void
}

export interface GithubClient {
  octokit: GithubOctokit
  baseUrl: string
  /** HTTP exchanges so far (every attempt, retries included) and how many were answered 304 */
  stats: { requests: number; notModified: number }
}

/** The API base URL from GITHUB_API_URL; a token is never sent in clear text off this machine. */
export function apiBaseUrl(env: Record<string, string | undefined>): string {
  const raw = env.GITHUB_API_URL?.trim() || DEFAULT_API_URL
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw envError(`GITHUB_API_URL "${raw}" is not a URL`, { field: 'GITHUB_API_URL', rule: 'github.api-url-invalid' })
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw envError(`GITHUB_API_URL must be http(s), got ${url.protocol}`, { field: 'GITHUB_API_URL', rule: 'github.api-url-invalid' })
  }
  if (url.protocol === 'http:' && env.GITHUB_TOKEN && !isLoopbackHost(url.hostname)) {
    throw envError(`refusing to send GITHUB_TOKEN over plain http to ${url.host}: use https`, { field: 'GITHUB_API_URL', rule: 'github.insecure-api-url' })
  }
  return raw.replace(/\/+$/, '')
}

/** CLAWBAKE_GITHUB_RETRIES: how often a 5xx / network failure is retried (0-10, default 3). */
export function retriesFromEnv(env: Record<string, string | undefined>): number {
  const raw = env.CLAWBAKE_GITHUB_RETRIES?.trim()
  if (!raw) return 3
  if (!/^(10|[0-9])$/.test(raw)) {
    throw envError(`CLAWBAKE_GITHUB_RETRIES must be a whole number from 0 to 10, got "${raw}"`, { field: 'CLAWBAKE_GITHUB_RETRIES', rule: 'github.retries-invalid' })
  }
  return Number(raw)
}

export function createGithubClient(env: Record<string, string | undefined>, opts: GithubOptions = {}): GithubClient {
  const baseUrl = apiBaseUrl(env)
  const retries = opts.retries ?? retriesFromEnv(env)
  const unit = opts.timeUnitMs ?? 1000
  const maxWait = opts.maxWaitSeconds ?? 60
  const rateLimitRetries = opts.rateLimitRetries ?? 2
  const warn = opts.warn ?? (() => {})
  const stats = { requests: 0, notModified: 0 }
  const countingFetch = async (input: string | URL, init?: RequestInit): Promise<Response> => {
    stats.requests++
    const res = await fetch(input, init)
    if (res.status === 304) stats.notModified++
    return res
  }
  const onLimit = (kind: string) => (retryAfter: number, options: { method?: string; url?: string }, _o: unknown, retryCount: number): boolean => {
    if (retryCount >= rateLimitRetries || retryAfter > maxWait) return false
    warn(`GitHub ${kind} rate limit on ${options.method} ${options.url}: waiting ${retryAfter} s (retry ${retryCount + 1}/${rateLimitRetries})`)
    return true
  }
  const octokit = new ClawbakeOctokit({
    auth: env.GITHUB_TOKEN || undefined,
    baseUrl,
    userAgent: 'clawbake',
    request: { fetch: countingFetch },
    // 429 is left to the throttling plugin (it waits for the reset), not retried blindly here.
    retry: { retries, retryAfterBaseValue: unit, doNotRetry: [400, 401, 403, 404, 410, 422, 429, 451] },
    throttle: {
      retryAfterBaseValue: unit,
      onRateLimit: onLimit('primary'),
      onSecondaryRateLimit: onLimit('secondary'),
    },
    // request-log reports every non-2xx answer (304s included) as an error: the
    // failures that matter become ClawbakeErrors, so only warnings are passed on.
    log: { debug: () => {}, info: () => {}, warn: (m: string) => warn(m), error: () => {} },
  })
  return { octokit, baseUrl, stats }
}

interface RequestErrorLike {
  status: number
  message: string
  response?: { headers: Record<string, string | undefined>; data?: unknown }
}

function isRequestError(e: unknown): e is RequestErrorLike {
  return e instanceof Error && typeof (e as unknown as RequestErrorLike).status === 'number'
}

/** One clear error for a GitHub failure that survived the retries. */
export function githubFailure(e: unknown, url: string, what: string): ClawbakeError {
  if (e instanceof ClawbakeError) return e
  if (!isRequestError(e)) return envError(`${what}: ${(e as Error)?.message ?? String(e)}`, { file: url, rule: 'github.request-failed' }, e)
  const headers = e.response?.headers ?? {}
  const detail = e.message.replace(/ - https:\/\/docs\.github\.com\S*$/, '')
  if (!e.response) {
    return envError(`${what}: cannot reach GitHub at ${url} (${detail}) after retries`, { file: url, rule: 'github.unreachable' }, e)
  }
  if (e.status === 401) {
    return envError(`${what}: GitHub refused the credentials (401 ${detail}): check GITHUB_TOKEN`, { file: url, field: 'GITHUB_TOKEN', rule: 'github.unauthorized' }, e)
  }
  if ((e.status === 403 || e.status === 429) && (headers['x-ratelimit-remaining'] === '0' || /rate limit/i.test(e.message))) {
    const reset = Number(headers['x-ratelimit-reset'])
    const when = headers['retry-after']
      ? `retry after ${headers['retry-after']} s`
      : Number.isFinite(reset) && reset > 0 ? `the limit resets at ${new Date(reset * 1000).toISOString()}` : 'retry later'
    return envError(`${what}: GitHub rate limit exceeded (${e.status} ${detail}); ${when}${headers['x-ratelimit-limit'] === '60' ? '; set GITHUB_TOKEN for a higher limit' : ''}`, { file: url, rule: 'github.rate-limited' }, e)
  }
  if (e.status === 403) {
    return envError(`${what}: GitHub refused access (403 ${detail})`, { file: url, field: 'GITHUB_TOKEN', rule: 'github.forbidden' }, e)
  }
  if (e.status === 404) {
    return envError(`${what}: not found at ${url} (404): check --repo, GITHUB_API_URL, and that GITHUB_TOKEN can see the repository`, { file: url, rule: 'github.not-found' }, e)
  }
  if (e.status >= 500) {
    return envError(`${what}: GitHub answered ${e.status} (${detail}) after retries`, { file: url, rule: 'github.unavailable' }, e)
  }
  return envError(`${what}: GitHub answered ${e.status} (${detail})`, { file: url, rule: 'github.request-failed' }, e)
}
