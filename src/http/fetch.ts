// The part of WHATWG fetch that Octokit's request uses, over ./request.ts:
// Octokit reads status, statusText, url, the headers (iterated, and get()),
// and the body as text or an ArrayBuffer. Node's global fetch is undici,
// whose loading was most of a no-op `clawbake watch` process. As fetch does:
// redirects are followed (up to 20; 303, and a 301/302 of a POST, become a
// GET) and Authorization is dropped when a redirect leaves the origin; a
// network failure is a TypeError "fetch failed" with the cause; an abort
// rejects with the signal's AbortError.
import { REDIRECT_STATUS, request, type Response as RawResponse } from './request.ts'

const MAX_REDIRECTS = 20

/** Headers as fetch gives them: lower-case names, repeated ones joined by ", ". */
export class FetchHeaders implements Iterable<[string, string]> {
  readonly #map: Map<string, string>
  constructor(raw: RawResponse['headers']) {
    this.#map = new Map(
      Object.entries(raw)
        .filter((e): e is [string, string | string[]] => e[1] !== undefined)
        .map(([k, v]) => [k.toLowerCase(), Array.isArray(v) ? v.join(', ') : v]),
    )
  }
  get(name: string): string | null {
    return this.#map.get(name.toLowerCase()) ?? null
  }
  has(name: string): boolean {
    return this.#map.has(name.toLowerCase())
  }
  [Symbol.iterator](): Iterator<[string, string]> {
    return [...this.#map].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))[Symbol.iterator]()
  }
}

export interface FetchResponse {
  status: number
  statusText: string
  ok: boolean
  url: string
  redirected: boolean
  headers: FetchHeaders
  text(): Promise<string>
  json(): Promise<unknown>
  arrayBuffer(): Promise<ArrayBuffer>
}

export interface FetchInit {
  method?: string
  headers?: Record<string, string>
  body?: string | Buffer | null
  signal?: AbortSignal | null
  redirect?: 'follow' | 'manual' | 'error'
}

function bodyOf(body: FetchInit['body']): Buffer | undefined {
  if (body === undefined || body === null) return undefined
  return Buffer.isBuffer(body) ? body : Buffer.from(body)
}

/** fetch(input, init) for Octokit; see the head of this file for what it keeps of fetch. */
export async function nodeFetch(input: string | URL, init: FetchInit = {}): Promise<FetchResponse> {
  let url = new URL(input)
  let method = (init.method ?? 'GET').toUpperCase()
  let headers: Record<string, string> = { ...init.headers }
  let body = bodyOf(init.body)
  const signal = init.signal ?? undefined
  for (let hop = 0; ; hop++) {
    signal?.throwIfAborted()
    let res: RawResponse
    try {
      res = await request(url, {
        method,
        headers: { ...headers, ...(body ? { 'content-length': String(body.length) } : {}) },
        ...(body ? { body } : {}),
        ...(signal ? { signal } : {}),
      })
    } catch (e) {
      if (signal?.aborted) throw signal.reason
      throw new TypeError('fetch failed', { cause: e })
    }
    const status = res.statusCode
    const location = res.headers.location
    if (REDIRECT_STATUS.has(status) && location && init.redirect !== 'manual') {
      res.body.resume()
      if (init.redirect === 'error') throw new TypeError('fetch failed', { cause: new Error(`redirect to ${location} refused (redirect: "error")`) })
      if (hop >= MAX_REDIRECTS) throw new TypeError('fetch failed', { cause: new Error('redirect count exceeded') })
      const next = new URL(location, url)
      if (next.origin !== url.origin) {
        const { authorization: _drop, Authorization: _Drop, ...rest } = headers
        headers = rest
      }
      if (status === 303 || ((status === 301 || status === 302) && method === 'POST')) {
        method = 'GET'
        body = undefined
      }
      url = next
      continue
    }
    const chunks: Buffer[] = []
    let read: Promise<Buffer> | null = null
    const all = () => (read ??= (async () => {
      try {
        for await (const c of res.body) chunks.push(c as Buffer)
      } catch (e) {
        if (signal?.aborted) throw signal.reason
        throw new TypeError('fetch failed', { cause: e })
      }
      return Buffer.concat(chunks)
    })())
    return {
      status,
      statusText: res.body.statusMessage ?? '',
      ok: status >= 200 && status < 300,
      url: url.href,
      redirected: hop > 0,
      headers: new FetchHeaders(res.headers),
      text: async () => (await all()).toString('utf8'),
      json: async () => JSON.parse((await all()).toString('utf8')) as unknown,
      arrayBuffer: async () => {
        const b = await all()
        return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer
      },
    }
  }
}
