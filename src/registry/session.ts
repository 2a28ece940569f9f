// One conversation with OCI registries over undici: timeouts, retries with
// backoff on 5xx/429 (honouring Retry-After), redirects that never carry
// Authorization to another origin, and the auth flow (bearer token from the
// `WWW-Authenticate` realm, reused until expiry; basic auth from the
// environment). Counts requests, so the bench can say what a resolve costs.
import { request, type Dispatcher } from 'undici'
import { ClawbakeError } from '../errors.ts'
import { assertSecureUrl, type ImageRef } from './reference.ts'
import { basicAuthorization, credentialsFromEnv, parseChallenge, parseTokenReply, TokenCache, ENV_PASSWORD, ENV_USER, type Credentials } from './auth.ts'

export interface SessionOptions {
  env: Record<string, string | undefined>
  /** per request attempt (headers and body), ms; env CLAWBAKE_REGISTRY_TIMEOUT_MS, default 30000 */
  timeoutMs?: number
  /** retries after the first attempt on 5xx/429/network errors; env CLAWBAKE_REGISTRY_RETRIES, default 3 */
  retries?: number
  /** first backoff step, ms (doubles each retry, plus jitter) */
  backoffMs?: number
  /** a Retry-After longer than this fails instead of waiting */
  maxRetryAfterMs?: number
  /** clock for token expiry (tests move it) */
  now?: () => number
  dispatcher?: Dispatcher
  tokens?: TokenCache
}

export interface Reply {
  status: number
  headers: Record<string, string>
  body: Buffer
  /** the URL that finally answered (after redirects) */
  url: string
}

export interface Target {
  ref: ImageRef
  /** what the user asked for, for error messages: `ghcr.io/openclaw/openclaw:2026.9.6` */
  what: string
}

const MAX_REDIRECTS = 5
const RETRY_STATUS = new Set([429, 500, 502, 503, 504])

function intEnv(env: Record<string, string | undefined>, name: string, fallback: number): number {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  const n = Number(raw)
  if (!Number.isInteger(n) || n < 0) throw new ClawbakeError(`${name}=${raw} is not a non-negative integer`, { field: name, rule: 'registry.env-invalid' }, 2)
  return n
}

function flatHeaders(h: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v
  return out
}

/** Retry-After as ms: delta-seconds or an HTTP date; null when absent/unparseable. */
export function retryAfterMs(value: string | undefined, nowMs: number): number | null {
  if (!value) return null
  if (/^\s*\d+\s*$/.test(value)) return Number(value) * 1000
  const at = Date.parse(value)
  return Number.isFinite(at) ? Math.max(0, at - nowMs) : null
}

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms))

export class RegistrySession {
  readonly timeoutMs: number
  readonly retries: number
  readonly backoffMs: number
  readonly maxRetryAfterMs: number
  readonly credentials: Credentials | null
  readonly tokens: TokenCache
  readonly now: () => number
  readonly dispatcher: Dispatcher | undefined
  /** HTTP requests sent so far (every attempt, redirect hop and token fetch) */
  requests = 0

  constructor(opts: SessionOptions) {
    this.timeoutMs = opts.timeoutMs ?? intEnv(opts.env, 'CLAWBAKE_REGISTRY_TIMEOUT_MS', 30000)
    this.retries = opts.retries ?? intEnv(opts.env, 'CLAWBAKE_REGISTRY_RETRIES', 3)
    this.backoffMs = opts.backoffMs ?? 250
    this.maxRetryAfterMs = opts.maxRetryAfterMs ?? 60000
    this.credentials = credentialsFromEnv(opts.env)
    this.tokens = opts.tokens ?? new TokenCache()
    this.now = opts.now ?? Date.now
    this.dispatcher = opts.dispatcher
  }

  /** Credentials that may be offered to the registry of `ref` (CLAWBAKE_REGISTRY_HOST limits them to one host). */
  credentialsFor(ref: ImageRef): Credentials | null {
    const c = this.credentials
    return c && (!c.host || c.host === ref.host) ? c : null
  }

  #cacheKey(ref: ImageRef): string {
    return TokenCache.key(ref.origin, ref.repository, this.credentialsFor(ref)?.user ?? null)
  }

  /**
   * A registry API request (`/v2/<repo>/...`) with whatever authorization is
   * cached. On 401 it answers the challenge once (token or basic) and repeats
   * the request (`onChallenge: 'return'` hands the 401 back instead, so the
   * caller can move on to its next request). Only the registry's own
   * challenge is answered: a 401 from a redirect target (another origin)
   * could name any realm, and the credentials must not go there.
   */
  async registry(target: Target, method: 'HEAD' | 'GET', path: string, headers: Record<string, string>, opts: { maxBytes: number; onChallenge?: 'repeat' | 'return' } = { maxBytes: 0 }): Promise<Reply & { reauthorized: boolean }> {
    const url = new URL(`${target.ref.origin}/v2/${target.ref.repository}/${path}`)
    const key = this.#cacheKey(target.ref)
    const cached = this.tokens.get(key, this.now())
    const first = await this.send(method, url, { ...headers, ...(cached ? { authorization: cached } : {}) }, opts.maxBytes, target)
    if (first.status !== 401) return { ...first, reauthorized: false }
    if (new URL(first.url).origin !== url.origin) throw this.#unauthorized(target, first, 'a redirect target on another origin asked for credentials; not answering')
    this.tokens.delete(key)
    const authorization = await this.#answerChallenge(target, first)
    if (opts.onChallenge === 'return') return { ...first, reauthorized: true }
    const second = await this.send(method, url, { ...headers, authorization }, opts.maxBytes, target)
    return { ...second, reauthorized: true }
  }

  async #answerChallenge(target: Target, reply: Reply): Promise<string> {
    const challenge = parseChallenge(reply.headers['www-authenticate'])
    const creds = this.credentialsFor(target.ref)
    const key = this.#cacheKey(target.ref)
    if (challenge?.scheme === 'basic') {
      if (!creds) throw this.#unauthorized(target, reply, `the registry wants basic auth: set ${ENV_USER} and ${ENV_PASSWORD}`)
      const authorization = basicAuthorization(creds)
      // basic auth does not expire; remember it for this session (warm resolves skip the 401)
      this.tokens.set(key, authorization, Number.MAX_SAFE_INTEGER)
      return authorization
    }
    if (challenge?.scheme !== 'bearer' || !challenge.params.realm) {
      throw this.#unauthorized(target, reply, 'no usable WWW-Authenticate challenge came with it')
    }
    let realm: URL
    try {
      realm = new URL(challenge.params.realm)
    } catch {
      throw new ClawbakeError(`token realm "${challenge.params.realm}" is not a URL`, { file: reply.url, rule: 'registry.token-realm' }, 2)
    }
    assertSecureUrl(realm, 'token realm', 'registry.insecure-realm')
    const wanted = `repository:${target.ref.repository}:pull`
    const scope = challenge.params.scope?.split(' ').includes(wanted) ? challenge.params.scope : wanted
    if (challenge.params.service) realm.searchParams.set('service', challenge.params.service)
    for (const s of scope.split(' ')) realm.searchParams.append('scope', s)
    const tokenReply = await this.send('GET', realm, { accept: 'application/json', ...(creds ? { authorization: basicAuthorization(creds) } : {}) }, 1 << 20, target)
    if (tokenReply.status === 401 || tokenReply.status === 403) {
      throw this.#unauthorized(target, tokenReply, creds ? `the token endpoint refused the credentials in ${ENV_USER}/${ENV_PASSWORD}` : 'the token endpoint refused an anonymous pull token')
    }
    if (tokenReply.status !== 200) {
      throw new ClawbakeError(`token endpoint answered HTTP ${tokenReply.status} for ${target.what}`, { file: realm.origin + realm.pathname, rule: 'registry.token-failed' }, 2)
    }
    let parsed: unknown
    try {
      parsed = JSON.parse(tokenReply.body.toString('utf8'))
    } catch {
      throw new ClawbakeError('token endpoint answered with something that is not JSON', { file: realm.origin + realm.pathname, rule: 'registry.token-malformed' }, 2)
    }
    const { token, expiresAt } = parseTokenReply(parsed, this.now(), realm.origin + realm.pathname)
    const authorization = `Bearer ${token}`
    this.tokens.set(key, authorization, expiresAt)
    return authorization
  }

  #unauthorized(target: Target, reply: Reply, why: string): ClawbakeError {
    return new ClawbakeError(`registry refused access to ${target.what} (HTTP ${reply.status}): ${why}`, { file: redact(reply.url), rule: 'registry.unauthorized' }, 2)
  }

  /**
   * One logical request: follows redirects (Authorization only to the same
   * origin; never http to a non-loopback host), retries 5xx/429 and network
   * errors with backoff, reads at most `maxBytes` of body.
   */
  async send(method: 'HEAD' | 'GET', start: URL, headers: Record<string, string>, maxBytes: number, target: Target): Promise<Reply> {
    let url = start
    let hdrs = { ...headers }
    for (let hop = 0; ; hop++) {
      const reply = await this.#withRetries(method, url, hdrs, maxBytes, target)
      if (![301, 302, 303, 307, 308].includes(reply.status)) return reply
      if (hop >= MAX_REDIRECTS) throw new ClawbakeError(`more than ${MAX_REDIRECTS} redirects fetching ${target.what}`, { file: redact(url.href), rule: 'registry.redirect-loop' }, 2)
      const location = reply.headers.location
      if (!location) throw new ClawbakeError(`redirect without Location fetching ${target.what}`, { file: redact(url.href), rule: 'registry.redirect-invalid' }, 2)
      const next = new URL(location, url)
      assertSecureUrl(next, 'redirect target', 'registry.insecure-redirect')
      if (next.origin !== url.origin) {
        // never forward credentials across hosts (e.g. a blob redirect to object storage)
        const { authorization: _drop, ...rest } = hdrs
        hdrs = rest
      }
      url = next
    }
  }

  async #withRetries(method: 'HEAD' | 'GET', url: URL, headers: Record<string, string>, maxBytes: number, target: Target): Promise<Reply> {
    for (let attempt = 0; ; attempt++) {
      let reply: Reply | null = null
      let failure: unknown = null
      try {
        reply = await this.#once(method, url, headers, maxBytes)
      } catch (e) {
        if (e instanceof ClawbakeError) throw e
        failure = e
      }
      const retryable = failure !== null || (reply !== null && RETRY_STATUS.has(reply.status))
      if (!retryable) return reply!
      if (attempt >= this.retries) {
        if (reply) {
          throw new ClawbakeError(`registry answered HTTP ${reply.status} for ${target.what} after ${attempt + 1} attempts`, { file: redact(url.href), rule: reply.status === 429 ? 'registry.rate-limited' : 'registry.unavailable' }, 2)
        }
        const f = failure as Error & { code?: string }
        throw new ClawbakeError(`cannot reach the registry for ${target.what} after ${attempt + 1} attempts: ${f.code ? f.code + ' ' : ''}${f.message}`, { file: redact(url.href), rule: 'registry.network' }, 2, { cause: failure })
      }
      let wait = this.backoffMs * 2 ** attempt + Math.floor(Math.random() * this.backoffMs)
      const after = retryAfterMs(reply?.headers['retry-after'], Date.now())
      if (after !== null) {
        if (after > this.maxRetryAfterMs) {
          throw new ClawbakeError(`registry asked to retry ${target.what} after ${Math.ceil(after / 1000)} s (more than ${this.maxRetryAfterMs / 1000} s)`, { file: redact(url.href), rule: 'registry.rate-limited' }, 2)
        }
        wait = Math.max(after, 0)
      }
      await sleep(wait)
    }
  }

  async #once(method: 'HEAD' | 'GET', url: URL, headers: Record<string, string>, maxBytes: number): Promise<Reply> {
    this.requests++
    const res = await request(url, {
      method,
      headers: { 'user-agent': 'clawbake', ...headers },
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
      signal: AbortSignal.timeout(this.timeoutMs * 2),
      ...(this.dispatcher ? { dispatcher: this.dispatcher } : {}),
    })
    const chunks: Buffer[] = []
    let size = 0
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length
      if (maxBytes && size > maxBytes) {
        res.body.destroy()
        throw new ClawbakeError(`response from ${redact(url.href)} is larger than ${maxBytes} bytes`, { file: redact(url.href), rule: 'registry.too-large' }, 1)
      }
      chunks.push(chunk as Buffer)
    }
    return { status: res.statusCode, headers: flatHeaders(res.headers), body: Buffer.concat(chunks), url: url.href }
  }
}

/** URLs in errors carry no query (token endpoints put scopes and sometimes secrets there). */
export function redact(href: string): string {
  const u = new URL(href)
  u.search = ''
  u.username = ''
  u.password = ''
  return u.href
}
