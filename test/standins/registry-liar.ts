// A loopback proxy in front of a real registry that can lie, for the
// fail-closed tests: a wrong Docker-Content-Digest, a wrong Content-Type, a
// truncated body, a HEAD that announces a stale digest, a cut connection, a
// hanging server, error statuses with Retry-After, redirects to another
// origin, a rewritten token realm; for pushes and blob pulls: an upload
// PATCH cut before any byte reached the registry or half-way through, a
// blob download cut after N bytes, a blob with one byte flipped. Honest by
// default; logs every request (whether it carried Authorization, how many
// body bytes it sent), so it also counts requests and bytes.
// `header-digest` with an empty digest drops the header altogether.
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export type Lie =
  | { kind: 'header-digest'; digest: string }
  | { kind: 'head-digest'; digest: string }
  | { kind: 'content-type'; contentType: string }
  | { kind: 'truncate'; bytes: number }
  | { kind: 'cut-connection' }
  | { kind: 'hang' }
  | { kind: 'status'; status: number; times: number; retryAfter?: string }
  | { kind: 'redirect'; to: string }
  | { kind: 'realm'; realm: string }
  | { kind: 'cut-upload'; at: 'start' | 'middle'; times: number }
  | { kind: 'cut-blob'; bytes: number; times: number }
  | { kind: 'tamper-blob' }

export interface ProxyLogEntry {
  method: string
  path: string
  authorization: boolean
  status: number
  /** request body bytes that arrived from the client */
  requestBytes: number
}

export interface RegistryProxy {
  host: string
  origin: string
  log: ProxyLogEntry[]
  lie: Lie | null
  stop(): Promise<void>
}

const isManifest = (path: string) => /\/manifests\//.test(path)
const isBlob = (path: string) => /\/blobs\/sha256:/.test(path)

export async function startRegistryProxy(opts: { upstream: string; lie?: Lie }): Promise<RegistryProxy> {
  const upstream = new URL(opts.upstream)
  const state: RegistryProxy = { host: '', origin: '', log: [], lie: opts.lie ?? null, stop: async () => {} }
  let statusLies = 0
  // cuts so far, per lie (a test that sets a new lie starts counting again)
  const cuts = new WeakMap<Lie, number>()
  const cut = (lie: Lie, times: number) => {
    const n = cuts.get(lie) ?? 0
    if (n >= times) return false
    cuts.set(lie, n + 1)
    return true
  }

  const forward = (req: IncomingMessage): Promise<{ status: number; headers: Record<string, string | string[]>; body: Buffer }> =>
    new Promise((resolve, reject) => {
      const headers = { ...req.headers, host: upstream.host }
      const up = httpRequest({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers }, res => {
        const chunks: Buffer[] = []
        res.on('data', c => chunks.push(c as Buffer))
        res.on('end', () => resolve({ status: res.statusCode ?? 502, headers: res.headers as Record<string, string | string[]>, body: Buffer.concat(chunks) }))
        res.on('error', reject)
      })
      up.on('error', reject)
      req.pipe(up)
    })

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = req.url ?? '/'
    const entry: ProxyLogEntry = { method: req.method ?? 'GET', path, authorization: !!req.headers.authorization, status: 0, requestBytes: 0 }
    state.log.push(entry)
    req.on('data', (c: Buffer) => { entry.requestBytes += c.length })
    const lie = state.lie
    if (lie?.kind === 'cut-upload' && req.method === 'PATCH' && cut(lie, lie.times)) {
      if (lie.at === 'start') {
        // the connection drops before the registry saw a byte of this chunk
        req.socket.destroy()
        return
      }
      // half of the chunk reaches the registry, then both connections drop
      const half = Math.floor(Number(req.headers['content-length'] ?? 0) / 2)
      const up = httpRequest({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } })
      up.on('error', () => {})
      let sent = 0
      req.on('data', (c: Buffer) => {
        if (sent >= half) return
        const part = c.subarray(0, half - sent)
        sent += part.length
        up.write(part)
        if (sent >= half) setTimeout(() => { up.destroy(); req.socket.destroy() }, 100)
      })
      return
    }
    if (lie?.kind === 'hang') return // never answer
    if (lie?.kind === 'status' && statusLies < lie.times && path.startsWith('/v2/')) {
      statusLies++
      entry.status = lie.status
      res.writeHead(lie.status, { 'content-type': 'application/json', ...(lie.retryAfter ? { 'retry-after': lie.retryAfter } : {}) })
      res.end(JSON.stringify({ errors: [{ code: lie.status === 429 ? 'TOOMANYREQUESTS' : lie.status === 403 ? 'DENIED' : 'UNAVAILABLE', message: 'stand-in says so' }] }))
      return
    }
    if (lie?.kind === 'redirect' && req.method === 'GET' && isManifest(path) && req.headers.authorization) {
      entry.status = 307
      res.writeHead(307, { location: `${lie.to}${path}${path.includes('?') ? '&' : '?'}signature=stand-in` })
      res.end()
      return
    }
    let up
    try {
      up = await forward(req)
    } catch {
      entry.status = 502
      res.writeHead(502).end()
      return
    }
    const headers = { ...up.headers }
    let body = up.body
    delete headers['transfer-encoding']
    delete headers.connection
    // the registry builds absolute upload locations from the Host it saw: keep the client on the proxy
    if (typeof headers.location === 'string' && headers.location.startsWith(upstream.origin)) headers.location = state.origin + headers.location.slice(upstream.origin.length)
    if (lie && isManifest(path) && up.status === 200) {
      if (lie.kind === 'header-digest') {
        if (lie.digest) headers['docker-content-digest'] = lie.digest
        else delete headers['docker-content-digest']
      }
      if (lie.kind === 'head-digest' && req.method === 'HEAD') headers['docker-content-digest'] = lie.digest
      if (lie.kind === 'content-type') headers['content-type'] = lie.contentType
      if (lie.kind === 'truncate' && req.method === 'GET') {
        body = body.subarray(0, Math.max(0, body.length - lie.bytes))
        headers['content-length'] = String(body.length)
      }
      if (lie.kind === 'cut-connection' && req.method === 'GET') {
        entry.status = up.status
        res.writeHead(up.status, headers)
        res.write(body.subarray(0, Math.floor(body.length / 2)))
        res.socket?.destroy()
        return
      }
    }
    if (lie && isBlob(path) && req.method === 'GET' && (up.status === 200 || up.status === 206)) {
      if (lie.kind === 'tamper-blob' && body.length > 0) {
        body = Buffer.from(body)
        const i = Math.floor(body.length / 2)
        body[i] = (body[i] ?? 0) ^ 0xff
      }
      if (lie.kind === 'cut-blob' && body.length > lie.bytes && cut(lie, lie.times)) {
        entry.status = up.status
        res.writeHead(up.status, headers)
        res.write(body.subarray(0, lie.bytes))
        setTimeout(() => res.socket?.destroy(), 50)
        return
      }
    }
    if (lie?.kind === 'realm' && typeof headers['www-authenticate'] === 'string') {
      headers['www-authenticate'] = headers['www-authenticate'].replace(/realm="[^"]*"/, `realm="${lie.realm}"`)
    }
    entry.status = up.status
    res.writeHead(up.status, headers)
    res.end(req.method === 'HEAD' ? undefined : body)
  }

  const server = createServer((req, res) => { void handle(req, res) })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  state.host = `127.0.0.1:${port}`
  state.origin = `http://${state.host}`
  state.stop = () => new Promise<void>(resolve => {
    server.closeAllConnections()
    server.close(() => resolve())
  })
  return state
}
