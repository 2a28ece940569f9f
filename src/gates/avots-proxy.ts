// A recording loopback proxy in front of avots. OpenClaw's model provider is
// pointed at it (AVOTS_BASE_URL for the gateway = this proxy), it forwards
// every request unchanged to the real base URL and keeps, per model call, the
// tool names OpenClaw offered, the messages it sent and the tool calls the
// model answered with (JSON or SSE). The gates read what OpenClaw ACTUALLY
// sent, not what its config says it would send. Nothing is written to disk
// and the Authorization header is forwarded, never stored.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface ToolCall {
  id: string
  name: string
  arguments: string
}

export interface ModelCall {
  at: number
  path: string
  stream: boolean
  /** function names in the request's `tools` */
  tools: string[]
  /** the request's messages (roles and content as sent) */
  messages: { role: string; content: unknown; tool_call_id?: string }[]
  status: number
  /** tool calls the model answered with */
  toolCalls: ToolCall[]
  text: string
  /** the answer has been read to its end */
  done: boolean
  /** when it was (ms since epoch; 0 while not done) */
  doneAt: number
  /** set when forwarding failed */
  error?: string
}

export interface AvotsProxy {
  /** base URL to give OpenClaw instead of the real one */
  baseUrl: string
  calls(): ModelCall[]
  close(): Promise<void>
}

const HOP_HEADERS = new Set(['host', 'connection', 'content-length', 'transfer-encoding', 'keep-alive', 'accept-encoding'])

/** `host`: 127.0.0.1, or in the build VM the compose network's gateway address (the only one the containers reach). */
export async function startAvotsProxy(upstream: string, host = '127.0.0.1'): Promise<AvotsProxy> {
  const base = upstream.replace(/\/+$/, '')
  const log: ModelCall[] = []
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', c => chunks.push(c as Buffer))
    req.on('end', () => {
      void (async () => {
        const raw = Buffer.concat(chunks)
        let body: any = null
        try { body = raw.length ? JSON.parse(raw.toString('utf8')) : null } catch { /* not JSON */ }
        const call: ModelCall = {
          at: Date.now(),
          path: (req.url ?? '/').split('?')[0] ?? '/',
          stream: body?.stream === true,
          tools: Array.isArray(body?.tools) ? body.tools.map((t: any) => String(t?.function?.name ?? t?.name ?? '')) : [],
          messages: Array.isArray(body?.messages) ? body.messages.map((m: any) => ({ role: String(m?.role), content: m?.content, ...(m?.tool_call_id ? { tool_call_id: String(m.tool_call_id) } : {}) })) : [],
          status: 0,
          toolCalls: [],
          text: '',
          done: false,
          doneAt: 0,
        }
        if (call.path.endsWith('/chat/completions') || call.path.endsWith('/responses')) log.push(call)
        const headers: Record<string, string> = {}
        for (const [k, v] of Object.entries(req.headers)) if (!HOP_HEADERS.has(k) && typeof v === 'string') headers[k] = v
        let upstreamRes: Response
        try {
          upstreamRes = await fetch(base + (req.url ?? '/'), { method: req.method ?? 'GET', headers, ...(raw.length ? { body: raw } : {}) })
        } catch (e) {
          call.status = 502
          call.error = String((e as Error).message)
          call.done = true
          call.doneAt = Date.now()
          res.writeHead(502, { 'content-type': 'application/json' })
          res.end(JSON.stringify({ error: { message: `clawbake gate proxy: upstream unreachable: ${call.error}`, type: 'server_error', param: null, code: null } }))
          return
        }
        call.status = upstreamRes.status
        const outHeaders: Record<string, string> = {}
        upstreamRes.headers.forEach((v, k) => { if (!HOP_HEADERS.has(k) && k !== 'content-encoding') outHeaders[k] = v })
        res.writeHead(upstreamRes.status, outHeaders)
        const seen: Buffer[] = []
        try {
          if (upstreamRes.body) {
            for await (const piece of upstreamRes.body as unknown as AsyncIterable<Uint8Array>) {
              const b = Buffer.from(piece)
              seen.push(b)
              res.write(b)
            }
          }
        } catch (e) {
          call.error = String((e as Error).message)
        }
        res.end()
        const text = Buffer.concat(seen).toString('utf8')
        const parsed = (upstreamRes.headers.get('content-type') ?? '').includes('text/event-stream') ? parseSse(text) : parseJson(text)
        call.toolCalls = parsed.toolCalls
        call.text = parsed.text
        call.done = true
        call.doneAt = Date.now()
      })().catch(e => {
        if (!res.headersSent) res.writeHead(502)
        res.end()
        void e
      })
    })
  })
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(0, host, () => resolve()) })
  const { port } = server.address() as AddressInfo
  return {
    baseUrl: `http://${host}:${port}`,
    calls: () => log.slice(),
    async close() {
      server.closeAllConnections()
      await new Promise<void>(resolve => server.close(() => resolve()))
    },
  }
}

function parseJson(text: string): { toolCalls: ToolCall[]; text: string } {
  try {
    const v = JSON.parse(text)
    const msg = v?.choices?.[0]?.message
    const toolCalls: ToolCall[] = Array.isArray(msg?.tool_calls)
      ? msg.tool_calls.map((c: any) => ({ id: String(c?.id ?? ''), name: String(c?.function?.name ?? ''), arguments: String(c?.function?.arguments ?? '') }))
      : []
    return { toolCalls, text: typeof msg?.content === 'string' ? msg.content : '' }
  } catch {
    return { toolCalls: [], text: '' }
  }
}

/** Assemble `chat.completion.chunk` deltas (tool_calls by index, content) from an SSE body. */
export function parseSse(body: string): { toolCalls: ToolCall[]; text: string } {
  const calls = new Map<number, ToolCall>()
  let text = ''
  for (const line of body.split(/\r?\n/)) {
    if (!line.startsWith('data:')) continue
    const data = line.slice(5).trim()
    if (!data || data === '[DONE]') continue
    let chunk: any
    try { chunk = JSON.parse(data) } catch { continue }
    const delta = chunk?.choices?.[0]?.delta
    if (!delta) continue
    if (typeof delta.content === 'string') text += delta.content
    for (const tc of Array.isArray(delta.tool_calls) ? delta.tool_calls : []) {
      const index = Number(tc?.index ?? 0)
      const cur = calls.get(index) ?? { id: '', name: '', arguments: '' }
      if (tc?.id) cur.id = String(tc.id)
      if (tc?.function?.name) cur.name += String(tc.function.name)
      if (tc?.function?.arguments) cur.arguments += String(tc.function.arguments)
      calls.set(index, cur)
    }
  }
  return { toolCalls: [...calls.entries()].sort((a, b) => a[0] - b[0]).map(([, c]) => c), text }
}
