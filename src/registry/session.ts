// One conversation with OCI registries over undici (../http/request.ts): timeouts, retries with
// backoff on 5xx/429 (honouring Retry-After), redirects that never carry
// Authorization to another origin, and the auth flow (bearer token from the
// `WWW-Authenticate` realm, reused until expiry; basic auth from the
// environment). Counts requests, so the bench can say what a resolve costs.
// Pushes use the same flows with a `pull,push` scope; request bodies are
// Buffers or stream factories (a retry or a repeat after a challenge opens a
// fresh stream), and blob downloads can be streamed instead of buffered.
import type { Readable } from 'node:stream'
import { REDIRECT_STATUS, request } from '../http/request.ts'
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
  /**
   * `push`: ask the token realm for `pull,push`. Set (`pull` or `push`) for
   * clawbake's own image store: on ghcr.io, GITHUB_TOKEN is then offered when
   * CLAWBAKE_REGISTRY_USER/PASSWORD are not set.
   */
  store?: 'pull' | 'push'
}

export type Method = 'HEAD' | 'GET' | 'POST' | 'PATCH' | 'PUT'

/** A request body: bytes, or a factory for a fresh stream per attempt. */
export type Body = Buffer | (() => Readable)

export interface RequestOptions {
  maxBytes: number
  onChallenge?: 'repeat' | 'return'
  body?: Body
  /** false: one attempt, no retry (an upload PATCH: the caller asks the registry for its offset instead) */
  retry?: boolean
}

export interface StreamReply {
  status: number
  headers: Record<string, string>
  body: Readable
  url: string
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
    this.#githubToken = opts.env.GITHUB_TOKEN || undefined
    this.#githubActor = opts.env.GITHUB_ACTOR || undefined
  }

  /**
   * Credentials that may be offered to the registry of `ref`
   * (CLAWBAKE_REGISTRY_HOST limits them to one host). For clawbake's own image
   * store on ghcr.io, the workflow's GITHUB_TOKEN when nothing else is set.
   */
  credentialsFor(ref: ImageRef, store?: 'pull' | 'push'): Credentials | null {
    const c = this.credentials
    if (c && (!c.host || c.host === ref.host)) return c
    if (!c && store && ref.host === 'ghcr.io' && this.#githubToken) return { user: this.#githubActor || 'clawbake', password: this.#githubToken, host: 'ghcr.io' }
    return null
  }

  #githubToken: string | undefined
  #githubActor: string | undefined

  #cacheKey(target: Target): string {
    const key = TokenCache.key(target.ref.origin, target.ref.repository, this.credentialsFor(target.ref, target.store)?.user ?? null)
    return target.store === 'push' ? `${key} push` : key
  }

  /**
   * A registry API request (`/v2/<repo>/...`) with whatever authorization is
   * cached. On 401 it answers the challenge once (token or basic) and repeats
   * the request (`onChallenge: 'return'` hands the 401 back instead, so the
   * caller can move on to its next request). Only the registry's own
   * challenge is answered: a 401 from a redirect target (another origin)
   * could name any realm, and the credentials must not go there.
   */
  async registry(target: Target, method: Method, path: string, headers: Record<string, string>, opts: RequestOptions = { maxBytes: 0 }): Promise<Reply & { reauthorized: boolean }> {
    const url = this.registryUrl(target, path)
    const key = this.#cacheKey(target)
    const cached = this.tokens.get(key, this.now())
    const sendOpts = { body: opts.body, retry: opts.retry }
    const first = await this.send(method, url, { ...headers, ...(cached ? { authorization: cached } : {}) }, opts.maxBytes, target, sendOpts)
    if (first.status !== 401) return { ...first, reauthorized: false }
    if (new URL(first.url).origin !== url.origin) throw this.#unauthorized(target, first, 'a redirect target on another origin asked for credentials; not answering')
    this.tokens.delete(key)
    const authorization = await this.#answerChallenge(target, first)
    if (opts.onChallenge === 'return') return { ...first, reauthorized: true }
    const second = await this.send(method, url, { ...headers, authorization }, opts.maxBytes, target, sendOpts)
    return { ...second, reauthorized: true }
  }

  /** `blobs/...` under the repository, or an upload Location the registry handed out (same origin only). */
  registryUrl(target: Target, path: string): URL {
    if (!path.startsWith('/') && !/^https?:\/\//.test(path)) return new URL(`${target.ref.origin}/v2/${target.ref.repository}/${path}`)
    const url = new URL(path, target.ref.origin)
    if (url.origin !== target.ref.origin) {
      throw new ClawbakeError(`the registry handed out an upload location on another origin (${url.origin}); not sending the image there`, { file: redact(url.href), rule: 'registry.upload-location' }, 1)
    }
    return url
  }

  /**
   * A streamed GET (a blob too large to buffer): the challenge is answered as
   * in registry(), redirects are followed (Authorization never crosses
   * origins), no retries (the caller resumes with Range). The caller must
   * consume or destroy `body`.
   */
  async stream(target: Target, path: string, headers: Record<string, string>): Promise<StreamReply> {
    const url = this.registryUrl(target, path)
    const key = this.#cacheKey(target)
    for (let round = 0; ; round++) {
      const cached = this.tokens.get(key, this.now())
      let hdrs: Record<string, string> = { ...headers, ...(cached ? { authorization: cached } : {}) }
      let at = url
      for (let hop = 0; ; hop++) {
        const res = await this.#open('GET', at, hdrs, undefined, false)
        const reply = { status: res.statusCode, headers: flatHeaders(res.headers), body: res.body as Readable, url: at.href }
        if (REDIRECT_STATUS.has(reply.status)) {
          reply.body.resume()
          ;({ url: at, headers: hdrs } = this.#redirect(reply, at, hdrs, hop, target))
          continue
        }
        if (reply.status !== 401 || round > 0) return reply
        const body = await drain(reply.body, 1 << 16)
        if (at.origin !== url.origin) throw this.#unauthorized(target, { ...reply, body }, 'a redirect target on another origin asked for credentials; not answering')
        this.tokens.delete(key)
        await this.#answerChallenge(target, { ...reply, body })
        break
      }
    }
  }

  async #answerChallenge(target: Target, reply: Reply): Promise<string> {
    const challenge = parseChallenge(reply.headers['www-authenticate'])
    const creds = this.credentialsFor(target.ref, target.store)
    const key = this.#cacheKey(target)
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
    const wanted = `repository:${target.ref.repository}:${target.store === 'push' ? 'pull,push' : 'pull'}`
    const scope = challenge.params.scope?.split(' ').includes(wanted) ? challenge.params.scope : wanted
    if (challenge.params.service) realm.searchParams.set('service', challenge.params.service)
    for (const s of scope.split(' ')) realm.searchParams.append('scope', s)
    const tokenReply = await this.send('GET', realm, { accept: 'application/json', ...(creds ? { authorization: basicAuthorization(creds) } : {}) }, 1 << 20, target)
    if (tokenReply.status === 401 || tokenReply.status === 403) {
      throw this.#unauthorized(target, tokenReply, creds ? `the token endpoint refused the credentials in ${this.credentials ? `${ENV_USER}/${ENV_PASSWORD}` : 'GITHUB_TOKEN'}` : `the token endpoint refused an anonymous ${target.store === 'push' ? 'push (set CLAWBAKE_REGISTRY_USER/CLAWBAKE_REGISTRY_PASSWORD, or GITHUB_TOKEN for ghcr.io)' : 'pull'} token`)
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
  async send(method: Method, start: URL, headers: Record<string, string>, maxBytes: number, target: Target, opts: { body?: Body | undefined; retry?: boolean | undefined } = {}): Promise<Reply> {
    let url = start
    let hdrs = { ...headers }
    for (let hop = 0; ; hop++) {
      const reply = await this.#withRetries(method, url, hdrs, maxBytes, target, opts)
      // a 201/202 of an upload carries a Location too: only 3xx are redirects
      if (!REDIRECT_STATUS.has(reply.status)) return reply
      ;({ url, headers: hdrs } = this.#redirect(reply, url, hdrs, hop, target))
    }
  }

  /** The next hop of a redirect: https (or loopback) only, and never credentials across hosts (a blob redirect to object storage). */
  #redirect(reply: { headers: Record<string, string> }, url: URL, headers: Record<string, string>, hop: number, target: Target): { url: URL; headers: Record<string, string> } {
    if (hop >= MAX_REDIRECTS) throw new ClawbakeError(`more than ${MAX_REDIRECTS} redirects fetching ${target.what}`, { file: redact(url.href), rule: 'registry.redirect-loop' }, 2)
    const location = reply.headers.location
    if (!location) throw new ClawbakeError(`redirect without Location fetching ${target.what}`, { file: redact(url.href), rule: 'registry.redirect-invalid' }, 2)
    const next = new URL(location, url)
    assertSecureUrl(next, 'redirect target', 'registry.insecure-redirect')
    if (next.origin === url.origin) return { url: next, headers }
    const { authorization: _drop, ...rest } = headers
    return { url: next, headers: rest }
  }

  async #withRetries(method: Method, url: URL, headers: Record<string, string>, maxBytes: number, target: Target, opts: { body?: Body | undefined; retry?: boolean | undefined }): Promise<Reply> {
    const retries = opts.retry === false ? 0 : this.retries
    for (let attempt = 0; ; attempt++) {
      let reply: Reply | null = null
      let failure: unknown = null
      try {
        reply = await this.#once(method, url, headers, maxBytes, opts.body)
      } catch (e) {
        if (e instanceof ClawbakeError) throw e
        failure = e
      }
      const retryable = failure !== null || (reply !== null && RETRY_STATUS.has(reply.status))
      if (!retryable) return reply!
      if (attempt >= retries) {
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

  /** One request. `deadline`: the whole exchange within 2x the timeout (not for a GiB blob, whose every read still times out). */
  async #open(method: Method, url: URL, headers: Record<string, string>, body: Body | undefined, deadline: boolean) {
    this.requests++
    return await request(url, {
      method,
      headers: { 'user-agent': 'clawbake', ...headers },
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
      ...(deadline ? { signal: AbortSignal.timeout(this.timeoutMs * 2) } : {}),
      ...(body !== undefined ? { body: Buffer.isBuffer(body) ? body : body() } : {}),
    })
  }

  async #once(method: Method, url: URL, headers: Record<string, string>, maxBytes: number, body?: Body): Promise<Reply> {
    const res = await this.#open(method, url, headers, body, body === undefined || Buffer.isBuffer(body))
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

/** Read at most `max` bytes of a stream (an error body), discard the rest. */
async function drain(body: Readable, max: number): Promise<Buffer> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of body) {
    if (size < max) chunks.push(chunk as Buffer)
    size += (chunk as Buffer).length
  }
  return Buffer.concat(chunks).subarray(0, max)
}

/** URLs in errors carry no query (token endpoints put scopes and sometimes secrets there). */
export function redact(href: string): string {
  const u = new URL(href)
  u.search = ''
  u.username = ''
  u.password = ''
  return u.href
}
