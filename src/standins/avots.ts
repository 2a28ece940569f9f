// Loopback stand-in for avots.ai's OpenAI-compatible gateway
// (`POST <base>/chat/completions`, `GET <base>/models`), for the gate suite's
// tests. It behaves like a model behind that API:
//   tool   - when the newest user message carries a command in backticks and an
//            `exec` tool is offered, answers with an `exec` tool call carrying
//            that command; after the tool result, answers in text quoting it
//   text   - always answers in text (the classic false pass of owner-exec)
//   401    - rejects every request with OpenAI's invalid_api_key error
//   500    - fails every request with OpenAI's server_error
// Both `stream: true` (SSE chat.completion.chunk + `data: [DONE]`) and plain
// JSON answers are served; every request is recorded.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { randomBytes } from 'node:crypto'

export type AvotsMode = 'tool' | 'text' | '401' | '500'

export interface AvotsRequest {
  method: string
  path: string
  /** whether the Authorization header carried the expected key */
  authorized: boolean
  body: any
  at: number
  /** what the stand-in answered: a tool call, text, or an HTTP error */
  answered: 'tool_call' | 'text' | 'error'
}

export interface AvotsStandin {
  /** value for AVOTS_BASE_URL (ends in /v1, like the real one ends in /openai/v1) */
  baseUrl: string
  apiKey: string
  mode: AvotsMode
  requests(): AvotsRequest[]
  close(): Promise<void>
}

export const MODEL_ID = 'anthropic/claude-opus-4.8'

function textOf(content: unknown): string {
  if (typeof content === 'string') return content
  if (Array.isArray(content)) return content.map(p => (p && typeof p === 'object' && typeof (p as { text?: unknown }).text === 'string' ? (p as { text: string }).text : '')).join('\n')
  return ''
}

/** The command a person wrote in single backticks (not a ``` fence). */
export function commandIn(text: string): string | undefined {
  return /(?<!`)`([^`\n]+)`(?!`)/.exec(text)?.[1]
}

interface Answer {
  kind: 'tool_call' | 'text'
  text?: string
  call?: { id: string; name: string; arguments: string }
}

function decide(mode: AvotsMode, body: any): Answer {
  const messages: any[] = Array.isArray(body?.messages) ? body.messages : []
  // OpenClaw sends channel metadata as its own user message (a ```json block); the person's words are another one.
  let asked = -1
  for (let i = messages.length - 1; i >= 0 && asked < 0; i--) if (messages[i]?.role === 'user' && commandIn(textOf(messages[i].content))) asked = i
  const command = asked >= 0 ? commandIn(textOf(messages[asked].content)) : undefined
  const result = messages.slice(asked + 1).filter(m => m?.role === 'tool').pop()
  if (asked >= 0 && result) return { kind: 'text', text: `The command printed: ${textOf(result.content).trim()}` }
  const tools: any[] = Array.isArray(body?.tools) ? body.tools : []
  const exec = tools.find(t => t?.function?.name === 'exec')
  if (mode === 'tool' && command && exec) {
    return { kind: 'tool_call', call: { id: `call_${randomBytes(8).toString('hex')}`, name: 'exec', arguments: JSON.stringify({ command }) } }
  }
  return { kind: 'text', text: command ? `I would run \`${command}\` for you, but I will just tell you it is done.` : 'Hello! How can I help?' }
}

export async function startAvotsStandin(opts: { mode: AvotsMode; apiKey?: string }): Promise<AvotsStandin> {
  const apiKey = opts.apiKey ?? `sk-avots-test-${randomBytes(16).toString('hex')}`
  const log: AvotsRequest[] = []
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', c => chunks.push(c as Buffer))
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1')
      const raw = Buffer.concat(chunks).toString('utf8')
      let body: any = null
      try { body = raw ? JSON.parse(raw) : null } catch { /* recorded as null */ }
      const authorized = req.headers.authorization === `Bearer ${apiKey}`
      const entry: AvotsRequest = { method: req.method ?? 'GET', path: url.pathname, authorized, body, at: Date.now(), answered: 'error' }
      log.push(entry)
      const json = (status: number, value: unknown) => {
        const text = JSON.stringify(value)
        res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'x-request-id': `req_${randomBytes(6).toString('hex')}` })
        res.end(text)
      }
      if (opts.mode === '401' || !authorized) {
        return json(401, { error: { message: 'Incorrect API key provided. You can find your API key at https://avots.ai/account/api-keys.', type: 'invalid_request_error', param: null, code: 'invalid_api_key' } })
      }
      if (opts.mode === '500') {
        return json(500, { error: { message: 'The server had an error while processing your request. Sorry about that!', type: 'server_error', param: null, code: null } })
      }
      if (req.method === 'GET' && url.pathname === '/v1/models') {
        return json(200, { object: 'list', data: [{ id: MODEL_ID, object: 'model', created: 1767225600, owned_by: 'avots' }] })
      }
      if (req.method !== 'POST' || url.pathname !== '/v1/chat/completions') {
        return json(404, { error: { message: `Invalid URL (${req.method} ${url.pathname})`, type: 'invalid_request_error', param: null, code: null } })
      }
      if (!body || !Array.isArray(body.messages) || typeof body.model !== 'string') {
        return json(400, { error: { message: "'messages' and 'model' are required", type: 'invalid_request_error', param: 'messages', code: null } })
      }
      const answer = decide(opts.mode, body)
      entry.answered = answer.kind
      const id = `chatcmpl-${randomBytes(12).toString('hex')}`
      const created = Math.floor(Date.now() / 1000)
      const model = body.model
      const finish = answer.kind === 'tool_call' ? 'tool_calls' : 'stop'
      const usage = { prompt_tokens: 42, completion_tokens: 7, total_tokens: 49 }
      const toolCalls = answer.call ? [{ id: answer.call.id, type: 'function', function: { name: answer.call.name, arguments: answer.call.arguments } }] : undefined
      if (body.stream !== true) {
        return json(200, {
          id, object: 'chat.completion', created, model,
          choices: [{ index: 0, message: { role: 'assistant', content: answer.text ?? null, ...(toolCalls ? { tool_calls: toolCalls } : {}) }, logprobs: null, finish_reason: finish }],
          usage,
        })
      }
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' })
      const chunk = (delta: unknown, finishReason: string | null) =>
        res.write(`data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }] })}\n\n`)
      chunk({ role: 'assistant', content: '' }, null)
      if (answer.call) {
        const args = answer.call.arguments
        const half = Math.ceil(args.length / 2)
        chunk({ tool_calls: [{ index: 0, id: answer.call.id, type: 'function', function: { name: answer.call.name, arguments: '' } }] }, null)
        chunk({ tool_calls: [{ index: 0, function: { arguments: args.slice(0, half) } }] }, null)
        chunk({ tool_calls: [{ index: 0, function: { arguments: args.slice(half) } }] }, null)
      } else {
        for (const piece of (answer.text ?? '').match(/.{1,16}/gs) ?? []) chunk({ content: piece }, null)
      }
      chunk({}, finish)
      if (body.stream_options?.include_usage) res.write(`data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [], usage })}\n\n`)
      res.end('data: [DONE]\n\n')
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', () => resolve()))
  const { port } = server.address() as AddressInfo
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    apiKey,
    mode: opts.mode,
    requests: () => log.slice(),
    async close() {
      server.closeAllConnections()
      await new Promise<void>(resolve => server.close(() => resolve()))
    },
  }
}
