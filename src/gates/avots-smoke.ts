// avots-smoke: one direct call to `$AVOTS_BASE_URL/chat/completions` with a
// tool definition, once as JSON and once streamed (SSE); both must come back
// with a tool call. A text answer, an HTTP error or a broken stream fails.
// Over undici's fetch (../http/request.ts), bundled into the VM's gate suite.
import { fetch } from '../http/request.ts'
import { parseSse } from './avots-proxy.ts'
import { fail, pass, type Verdict } from './gate.ts'

export const AVOTS_MODEL_ID = 'anthropic/claude-opus-4.8'

const EXEC_TOOL = {
  type: 'function',
  function: {
    name: 'exec',
    description: 'Run a shell command and return what it printed.',
    parameters: { type: 'object', properties: { command: { type: 'string', description: 'the command line' } }, required: ['command'] },
  },
}

async function ask(baseUrl: string, key: string, stream: boolean, marker: string): Promise<{ ok: boolean; detail: string }> {
  const body = {
    model: AVOTS_MODEL_ID,
    stream,
    max_tokens: 256,
    tools: [EXEC_TOOL],
    tool_choice: 'auto',
    messages: [
      { role: 'system', content: 'You run shell commands with the exec tool when asked.' },
      { role: 'user', content: `run \`echo ${marker}\` and tell me what it printed` },
    ],
  }
  let res: Response
  try {
    res = await fetch(`${baseUrl.replace(/\/+$/, '')}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', accept: stream ? 'text/event-stream' : 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(90_000),
    })
  } catch (e) {
    return { ok: false, detail: `unreachable (${(e as Error).message})` }
  }
  const text = await res.text()
  if (!res.ok) {
    let message = ''
    try { message = String(JSON.parse(text)?.error?.message ?? '') } catch { /* not JSON */ }
    return { ok: false, detail: `HTTP ${res.status}${message ? `: ${message.slice(0, 160)}` : ''}` }
  }
  let calls: { name: string; arguments: string }[] = []
  if (stream) {
    if (!(res.headers.get('content-type') ?? '').includes('text/event-stream')) return { ok: false, detail: `asked to stream, got ${res.headers.get('content-type')}` }
    if (!/^data: \[DONE\]\s*$/m.test(text)) return { ok: false, detail: 'stream ended without data: [DONE]' }
    calls = parseSse(text).toolCalls
  } else {
    try {
      const msg = JSON.parse(text)?.choices?.[0]?.message
      calls = Array.isArray(msg?.tool_calls) ? msg.tool_calls.map((c: any) => ({ name: String(c?.function?.name), arguments: String(c?.function?.arguments ?? '') })) : []
    } catch {
      return { ok: false, detail: 'answer is not JSON' }
    }
  }
  const call = calls.find(c => c.name === 'exec')
  if (!call) return { ok: false, detail: calls.length ? `tool call(s) ${calls.map(c => c.name).join(', ')}, none to exec` : 'answered in text, no tool call' }
  let args: any
  try { args = JSON.parse(call.arguments) } catch { return { ok: false, detail: `exec arguments are not JSON: ${call.arguments.slice(0, 80)}` } }
  if (typeof args?.command !== 'string' || !args.command.includes(marker)) return { ok: false, detail: 'exec call without the asked command' }
  return { ok: true, detail: 'exec tool call' }
}

export async function avotsSmoke(opts: { baseUrl: string; apiKey: string; marker: string }): Promise<Verdict> {
  const [plain, streamed] = await Promise.all([
    ask(opts.baseUrl, opts.apiKey, false, opts.marker),
    ask(opts.baseUrl, opts.apiKey, true, opts.marker),
  ])
  const detail = `${opts.baseUrl}/chat/completions non-stream: ${plain.detail}; stream: ${streamed.detail}`
  return plain.ok && streamed.ok ? pass(detail) : fail(detail)
}
