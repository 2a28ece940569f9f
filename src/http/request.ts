// clawbake's one HTTP client: undici. Every exchange (the registry session,
// the image store, the GitHub client's fetch, the gates, the rehearsal) goes
// through it. undici is loaded on first use (a dynamic import), never at
// start-up: `clawbake --help` and the commands that speak no HTTP load none of
// it. One keep-alive Agent per process (a resolve's HEAD, token and GET share
// one connection), a headers timeout, a body timeout (the longest silence
// while the body arrives), an abort signal, and a Buffer or a stream as the
// request body; redirects are never followed here (the callers decide what a
// redirect may carry). The caller must consume or destroy the response body.
import type { IncomingHttpHeaders } from 'node:http'
import type { Readable } from 'node:stream'
import type { Agent, Dispatcher } from 'undici'

export interface RequestOptions {
  /** default GET, or PUT with a body */
  method?: string
  headers?: Record<string, string>
  /** ms until the response's headers have arrived (default 30 s) */
  headersTimeout?: number
  /** ms of silence allowed while the body arrives (default 30 s) */
  bodyTimeout?: number
  signal?: AbortSignal
  body?: Buffer | Readable
}

export interface Response {
  statusCode: number
  headers: IncomingHttpHeaders
  /** undici's body: a Readable */
  body: Readable
}

/** The statuses that redirect (Location says where). */
export const REDIRECT_STATUS: ReadonlySet<number> = new Set([301, 302, 303, 307, 308])

const DEFAULT_TIMEOUT_MS = 30_000

type Undici = typeof import('undici')
let loaded: Promise<{ undici: Undici; agent: Agent }> | undefined

/** undici and the process's keep-alive Agent, imported on the first call. */
export function undiciClient(): Promise<{ undici: Undici; agent: Agent }> {
  // module.exports as the default export: what Node gives for a CommonJS package, and the only
  // export of the chunk esbuild splits it into (scripts/build-cli.ts, src/bake/bundle.ts)
  return (loaded ??= import('undici').then(m => (m as unknown as { default?: Undici }).default ?? m).then(undici => ({
    undici,
    // a registry session's requests go one after another: few connections, reused
    agent: new undici.Agent({ keepAliveTimeout: 10_000, connections: 8 }),
  })))
}

/** WHATWG fetch, undici's, on the shared Agent (what Octokit and the gates call). */
export async function fetch(input: string | URL, init: RequestInit = {}): Promise<globalThis.Response> {
  const { undici, agent } = await undiciClient()
  return await undici.fetch(input, { dispatcher: agent, ...init } as Parameters<Undici['fetch']>[1]) as unknown as globalThis.Response
}

/**
 * One exchange with undici's request(). Timeouts fail as undici's errors
 * (`code` UND_ERR_HEADERS_TIMEOUT / UND_ERR_BODY_TIMEOUT).
 */
export async function request(url: URL, opts: RequestOptions = {}): Promise<Response> {
  const { undici, agent } = await undiciClient()
  const method = (opts.method ?? (opts.body ? 'PUT' : 'GET')) as Dispatcher.HttpMethod
  const res = await undici.request(url, {
    method,
    headers: opts.headers ?? {},
    dispatcher: agent,
    headersTimeout: opts.headersTimeout ?? DEFAULT_TIMEOUT_MS,
    bodyTimeout: opts.bodyTimeout ?? DEFAULT_TIMEOUT_MS,
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.body !== undefined ? { body: opts.body } : {}),
  })
  return { statusCode: res.statusCode, headers: res.headers as IncomingHttpHeaders, body: res.body as unknown as Readable }
}
