// clawbake's one HTTP client (undici, src/http/request.ts) against real
// loopback servers: the fetch that Octokit and the gates call (headers,
// bodies, redirects and their credentials, failures as fetch reports them),
// and request()'s own timeouts.
import t from 'tap'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { fetch, request } from '../../src/http/request.ts'
import { freeLoopbackPort } from '../../src/loopback.ts'

interface Seen { method: string; url: string; headers: IncomingMessage['headers']; body: string }

async function serve(t: { teardown(fn: () => unknown): void }, handler: (req: IncomingMessage, res: ServerResponse, body: string) => void): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = []
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', c => chunks.push(c as Buffer))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body })
      handler(req, res, body)
    })
  })
  await new Promise<void>(r => server.listen(0, '127.0.0.1', r))
  t.teardown(() => new Promise<void>(r => { server.closeAllConnections(); server.close(() => r()) }))
  const a = server.address()
  return { url: `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`, seen }
}

t.test('status, headers as fetch gives them, and the body as text, JSON or bytes', async t => {
  const s = await serve(t, (_q, res) => {
    res.statusCode = 201
    res.statusMessage = 'Created'
    res.setHeader('Content-Type', 'application/json; charset=utf-8')
    res.setHeader('Set-Cookie', ['a=1', 'b=2'])
    res.setHeader('ETag', '"v1"')
    res.end('{"n":42}')
  })
  const r = await fetch(`${s.url}/x?y=1`, { method: 'POST', headers: { authorization: 'token abc', 'content-type': 'application/json' }, body: '{"q":1}' })
  t.equal(r.status, 201)
  t.equal(r.statusText, 'Created')
  t.equal(r.ok, true)
  t.equal(r.url, `${s.url}/x?y=1`)
  t.equal(r.headers.get('content-type'), 'application/json; charset=utf-8')
  t.equal(r.headers.get('ETAG'), '"v1"', 'names are case-insensitive')
  t.equal(r.headers.get('set-cookie'), 'a=1, b=2', 'repeated headers are joined')
  t.ok([...r.headers].some(([k, v]) => k === 'etag' && v === '"v1"'), 'iterated with lower-case names')
  t.same(await r.clone().json(), { n: 42 })
  t.equal(await r.clone().text(), '{"n":42}')
  t.equal(Buffer.from(await r.arrayBuffer()).toString(), '{"n":42}')
  t.equal(s.seen[0]?.method, 'POST')
  t.equal(s.seen[0]?.body, '{"q":1}')
  t.equal(s.seen[0]?.headers['content-length'], '7')
  t.equal(s.seen[0]?.headers.authorization, 'token abc')
})

t.test('redirects are followed; Authorization never leaves the origin; 303 becomes a GET', async t => {
  const other = await serve(t, (_q, res) => res.end('there'))
  const s = await serve(t, (q, res) => {
    if (q.url === '/same') { res.writeHead(302, { location: '/final' }); res.end(); return }
    if (q.url === '/away') { res.writeHead(301, { location: `${other.url}/landed` }); res.end(); return }
    if (q.url === '/post') { res.writeHead(303, { location: '/final' }); res.end(); return }
    if (q.url === '/loop') { res.writeHead(307, { location: '/loop' }); res.end(); return }
    res.end('here')
  })
  const same = await fetch(`${s.url}/same`, { headers: { authorization: 'token abc' } })
  t.equal(await same.text(), 'here')
  t.equal(same.url, `${s.url}/final`)
  t.equal(same.redirected, true)
  t.equal(s.seen.at(-1)?.headers.authorization, 'token abc', 'kept on the same origin')
  const away = await fetch(`${s.url}/away`, { headers: { authorization: 'token abc' } })
  t.equal(await away.text(), 'there')
  t.equal(other.seen.at(-1)?.headers.authorization, undefined, 'dropped for another origin')
  await fetch(`${s.url}/post`, { method: 'POST', body: 'x' })
  t.equal(s.seen.at(-1)?.method, 'GET')
  t.equal(s.seen.at(-1)?.body, '')
  await t.rejects(fetch(`${s.url}/loop`), { name: 'TypeError', message: 'fetch failed', cause: { message: 'redirect count exceeded' } })
  const manual = await fetch(`${s.url}/same`, { redirect: 'manual' })
  t.equal(manual.status, 302, 'redirect: manual returns the 3xx')
})

t.test('failures as fetch reports them: a TypeError with the cause, or the abort reason', async t => {
  const port = await freeLoopbackPort()
  await t.rejects(fetch(`http://127.0.0.1:${port}/`), { name: 'TypeError', message: 'fetch failed', cause: { code: 'ECONNREFUSED' } })
  const s = await serve(t, () => { /* never answers */ })
  const ac = new AbortController()
  const p = fetch(`${s.url}/slow`, { signal: ac.signal })
  setTimeout(() => ac.abort(), 50)
  await t.rejects(p, { name: 'AbortError' })
  await t.rejects(fetch(`${s.url}/`, { signal: AbortSignal.abort() }), { name: 'AbortError' }, 'an aborted signal never sends')
})

t.test('request: a headers timeout and a body that stalls', async t => {
  const s = await serve(t, (q, res) => {
    if (q.url === '/stall') { res.writeHead(200, { 'content-length': '10' }); res.write('12345'); return }
  })
  await t.rejects(request(new URL(`${s.url}/never`), { headersTimeout: 100 }), { code: 'UND_ERR_HEADERS_TIMEOUT' })
  const r = await request(new URL(`${s.url}/stall`), { bodyTimeout: 150 })
  t.equal(r.statusCode, 200)
  const read = (async () => { for await (const _ of r.body) { /* read */ } })()
  await t.rejects(read, { code: 'UND_ERR_BODY_TIMEOUT' })
})
