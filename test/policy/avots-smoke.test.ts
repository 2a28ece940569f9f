// packer/files/avots-smoke.sh against a loopback OpenAI-compatible stand-in
// for avots: PASS only when tool_calls come back (stream and non-stream),
// FAIL on a text-only answer, and the key never appears on argv or output.
import t from 'tap'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import { REPO } from '../support/tree.ts'

const SCRIPT = join(REPO, 'packer', 'files', 'avots-smoke.sh')
type Mode = 'tools' | 'text' | 'tools-nonstream-only' | '401'

interface Seen { auth: string | undefined; body: { model?: string; stream?: boolean; tools?: { function: { name: string } }[] } }

async function standIn(t: { teardown(fn: () => void | Promise<void>): void }, mode: Mode) {
  const seen: Seen[] = []
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let raw = ''
    req.on('data', d => { raw += String(d) })
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/chat/completions') { res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"not found"}}'); return }
      if (mode === '401') { res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","code":"invalid_api_key"}}'); return }
      const body = JSON.parse(raw) as Seen['body']
      seen.push({ auth: req.headers.authorization, body })
      const tool = body.tools?.[0]?.function.name ?? 'none'
      const calls = mode === 'tools' || (mode === 'tools-nonstream-only' && !body.stream)
      const id = `chatcmpl-${randomBytes(6).toString('hex')}`
      const created = Math.floor(Date.now() / 1000)
      if (!body.stream) {
        const message = calls
          ? { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: tool, arguments: '{"text":"x"}' } }] }
          : { role: 'assistant', content: 'I would call the tool, but here is some text instead.' }
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id, object: 'chat.completion', created, model: body.model, choices: [{ index: 0, message, finish_reason: calls ? 'tool_calls' : 'stop' }], usage: { prompt_tokens: 20, completion_tokens: 5, total_tokens: 25 } }))
        return
      }
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
      const chunk = (delta: unknown, finish: string | null = null) => res.write(`data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model: body.model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`)
      chunk({ role: 'assistant', content: '' })
      if (calls) {
        chunk({ tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: tool, arguments: '' } }] })
        chunk({ tool_calls: [{ index: 0, function: { arguments: '{"text":"x"}' } }] })
        chunk({}, 'tool_calls')
      } else {
        chunk({ content: 'Sure, ' })
        chunk({ content: 'here is text.' })
        chunk({}, 'stop')
      }
      res.end('data: [DONE]\n\n')
    })
  })
  await new Promise<void>(r => server.listen(0, '127.0.0.1', r))
  t.teardown(() => new Promise<void>(r => server.close(() => r())))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, seen }
}

async function smoke(env: Record<string, string>, args: string[] = []) {
  const child = spawn('bash', [SCRIPT, ...args], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout.on('data', d => { out += String(d) })
  child.stderr.on('data', d => { out += String(d) })
  const code = await new Promise<number>(r => child.on('close', c => r(c ?? 2)))
  return { code, out }
}

t.test('PASS when tool_calls come back, stream and non-stream', async t => {
  const s = await standIn(t, 'tools')
  const key = `avots-test-${randomBytes(16).toString('hex')}`
  const r = await smoke({ AVOTS_BASE_URL: s.url, AVOTS_API_KEY: key })
  t.equal(r.code, 0, r.out)
  t.match(r.out, /^PASS non-stream: tool_calls \[clawbake_smoke_echo\]$/m)
  t.match(r.out, /^PASS stream: tool_calls \[clawbake_smoke_echo\]$/m)
  t.equal(s.seen.length, 2)
  t.same(s.seen.map(x => x.body.stream), [false, true])
  for (const x of s.seen) {
    t.equal(x.auth, `Bearer ${key}`, 'the key reaches avots as a bearer token')
    t.equal(x.body.model, 'anthropic/claude-opus-4.8')
    t.equal(x.body.tools?.[0]?.function.name, 'clawbake_smoke_echo', 'a tool definition is sent')
  }
  t.notOk(r.out.includes(key), 'the key is never printed')
})

t.test('FAIL on a text-only answer (both modes), and when only one mode calls tools', async t => {
  const text = await standIn(t, 'text')
  const r = await smoke({ AVOTS_BASE_URL: text.url, AVOTS_API_KEY: 'avots-test-key-text-only' })
  t.equal(r.code, 1)
  t.match(r.out, /^FAIL non-stream: text-only answer/m)
  t.match(r.out, /^FAIL stream: text-only answer/m)
  t.notMatch(r.out, /PASS/)
  const half = await standIn(t, 'tools-nonstream-only')
  const h = await smoke({ AVOTS_BASE_URL: half.url, AVOTS_API_KEY: 'avots-test-key-half' })
  t.equal(h.code, 1)
  t.match(h.out, /^PASS non-stream/m)
  t.match(h.out, /^FAIL stream: text-only answer/m)
})

t.test('FAIL on 401; usage errors exit 2', async t => {
  const s = await standIn(t, '401')
  const r = await smoke({ AVOTS_BASE_URL: s.url, AVOTS_API_KEY: 'avots-test-wrong-key' }, ['non-stream'])
  t.equal(r.code, 1)
  t.match(r.out, /^FAIL non-stream: HTTP 401/m)
  t.equal((await smoke({ AVOTS_BASE_URL: s.url })).code, 2, 'no key')
  t.equal((await smoke({ AVOTS_BASE_URL: s.url, AVOTS_API_KEY: 'x'.repeat(20) }, ['bogus'])).code, 2, 'bad mode')
})
