// One HTTP exchange (the registry session's, and under ./fetch.ts the GitHub
// client's), over Node's own http and https. Not undici: loading it and
// compiling its WebAssembly HTTP parser at the first connection was most of a
// short `clawbake resolve` or `watch` process. Keep-alive agents (a resolve's
// HEAD, token and GET share one connection), a headers
// timeout, a body timeout (the longest silence while the body arrives), an
// abort signal, and a Buffer or a stream as the request body. The caller
// must consume or destroy the response body.
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http'
import type { Agent as HttpsAgent } from 'node:https'
import { pipeline, type Readable } from 'node:stream'

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
  body: IncomingMessage
}

/** A request that timed out (`code` says where: headers or body). */
export class HttpTimeoutError extends Error {
  readonly code: 'HEADERS_TIMEOUT' | 'BODY_TIMEOUT'
  constructor(code: 'HEADERS_TIMEOUT' | 'BODY_TIMEOUT', ms: number) {
    super(`${code === 'HEADERS_TIMEOUT' ? 'no response headers' : 'the response body stalled'} within ${ms} ms`)
    this.code = code
    this.name = 'HttpTimeoutError'
  }
}

/** The statuses that redirect (Location says where). */
export const REDIRECT_STATUS: ReadonlySet<number> = new Set([301, 302, 303, 307, 308])

const DEFAULT_TIMEOUT_MS = 30_000
const httpAgent = new HttpAgent({ keepAlive: true })
// TLS is loaded only by a process that speaks https
let httpsClient: { agent: HttpsAgent; request: typeof httpRequest } | undefined
async function https(): Promise<NonNullable<typeof httpsClient>> {
  if (!httpsClient) {
    const m = await import('node:https')
    httpsClient = { agent: new m.Agent({ keepAlive: true }), request: m.request }
  }
  return httpsClient
}

export async function request(url: URL, opts: RequestOptions = {}): Promise<Response> {
  const tls = url.protocol === 'https:' ? await https() : null
  const send = tls ? tls.request : httpRequest
  const method = opts.method ?? (opts.body ? 'PUT' : 'GET')
  const headersTimeout = opts.headersTimeout ?? DEFAULT_TIMEOUT_MS
  const bodyTimeout = opts.bodyTimeout ?? DEFAULT_TIMEOUT_MS
  return new Promise<Response>((resolve, reject) => {
    let settled = false
    const fail = (e: Error) => {
      if (settled) return
      settled = true
      clearTimeout(headersTimer)
      reject(e)
    }
    const req = send(url, {
      method,
      headers: opts.headers ?? {},
      agent: tls ? tls.agent : httpAgent,
      ...(opts.signal ? { signal: opts.signal } : {}),
    })
    const headersTimer = setTimeout(() => req.destroy(new HttpTimeoutError('HEADERS_TIMEOUT', headersTimeout)), headersTimeout)
    req.once('error', fail)
    req.once('response', res => {
      clearTimeout(headersTimer)
      if (settled) {
        res.destroy()
        return
      }
      settled = true
      if (bodyTimeout > 0) {
        // the socket's idle timer (a pooled socket keeps it: the agent closes it when it fires while idle)
        res.setTimeout(bodyTimeout, () => res.destroy(new HttpTimeoutError('BODY_TIMEOUT', bodyTimeout)))
      }
      resolve({ statusCode: res.statusCode ?? 0, headers: res.headers, body: res })
    })
    if (opts.body === undefined) req.end()
    else if (Buffer.isBuffer(opts.body)) req.end(opts.body)
    else pipeline(opts.body, req, e => { if (e) fail(e) })
  })
}
