// What the gates share about a conversation with the running gateway: waiting
// for it to be ready, reading message text, and settling a turn by watching
// the model calls (recording proxy) and the bot's replies (Bot API stand-in).
import type { TelegramStandin, BotReply } from '../standins/telegram.ts'
import type { AvotsProxy, ModelCall } from './avots-proxy.ts'
import type { Gateway, OpenclawHost } from './host.ts'

export const sleep = (ms: number) => new Promise<void>(r => setTimeout(r, ms))

export function textOf(content: unknown): string {
  if (typeof content === 'string') return content
  if (Array.isArray(content)) return content.map(p => (p && typeof p === 'object' && typeof (p as { text?: unknown }).text === 'string' ? (p as { text: string }).text : '')).join('\n')
  return ''
}

export function mentions(call: ModelCall, needle: string): boolean {
  return call.messages.some(m => m.role === 'user' && textOf(m.content).includes(needle))
}

/** How often a starting gateway's log is read for a start that cannot succeed. */
const STUCK_CHECK_MS = 15_000

/**
 * Gateway healthy (`/healthz`) and polling the Bot API stand-in. Stops early
 * when the gateway says its start cannot succeed (`startStuck`).
 */
export async function waitReady(host: OpenclawHost, gw: Gateway, tg: TelegramStandin, timeoutMs: number, opts: { stuckCheckMs?: number } = {}): Promise<void> {
  const stuckCheckMs = opts.stuckCheckMs ?? STUCK_CHECK_MS
  const until = Date.now() + timeoutMs
  let healthy = false
  let nextStuckCheck = Date.now() + stuckCheckMs
  while (Date.now() < until) {
    if (gw.exited()) throw new Error(`gateway exited during start-up: ${gw.output().trim().split('\n').slice(-4).join(' | ').slice(0, 600)}`)
    if (!healthy && gw.startStuck && Date.now() >= nextStuckCheck) {
      const stuck = await gw.startStuck()
      if (stuck) throw new Error(`gateway cannot start: ${stuck}`)
      nextStuckCheck = Date.now() + stuckCheckMs
    }
    if (!healthy) {
      try {
        const res = await fetch(`${host.gatewayUrl}/healthz`, { signal: AbortSignal.timeout(2000) })
        healthy = res.ok && (await res.json() as { ok?: boolean }).ok === true
      } catch { /* not yet */ }
    }
    if (healthy && tg.polls() > 0) return
    await sleep(250)
  }
  throw new Error(`gateway not ready after ${Math.round(timeoutMs / 1000)} s (healthz ${healthy ? 'ok' : 'not ok'}, Bot API polls ${tg.polls()})`)
}

export interface Turn {
  calls: ModelCall[]
  replies: BotReply[]
  /** ms from the DM to the first model call, when there was one */
  firstCallMs: number | null
  timedOut: boolean
}

/**
 * Watch one owner turn until it settled: the bot replied with `expect`, or the
 * model's last answer was final (text, or an HTTP error), the bot already
 * said something, and the chat then stayed quiet (no Bot API call on it, not
 * even "typing") for `quietMs`; or `timeoutMs` passed.
 */
export async function settleTurn(opts: {
  tg: TelegramStandin
  proxy: AvotsProxy
  chatId: number
  sentAt: number
  callsBefore: number
  repliesBefore: number
  /** a reply that settles the turn: one holding this text, or one this predicate accepts */
  expect: string | ((text: string) => boolean)
  timeoutMs: number
  quietMs?: number
}): Promise<Turn> {
  const expected = typeof opts.expect === 'string' ? (t: string) => t.includes(opts.expect as string) : opts.expect
  const quietMs = opts.quietMs ?? 8000
  const until = opts.sentAt + opts.timeoutMs
  const snapshot = () => {
    const calls = opts.proxy.calls().slice(opts.callsBefore)
    const replies = opts.tg.replies(opts.chatId).slice(opts.repliesBefore)
    return { calls, replies }
  }
  for (;;) {
    const { calls, replies } = snapshot()
    const firstCallMs = calls[0] ? calls[0].at - opts.sentAt : null
    if (replies.some(r => expected(r.text))) {
      await sleep(300)
      return { ...snapshot(), firstCallMs, timedOut: false }
    }
    const last = calls[calls.length - 1]
    const final = last?.done && (last.status >= 400 || last.toolCalls.length === 0)
    // any Bot API call on the chat (typing, status message, reply) means the turn is still being delivered
    const chatActivity = opts.tg.calls().filter(c => Number(c.params.chat_id) === opts.chatId).pop()?.at ?? 0
    const lastActivity = Math.max(last?.doneAt ?? 0, chatActivity)
    if (final && replies.length > 0 && Date.now() - lastActivity > quietMs) return { calls, replies, firstCallMs, timedOut: false }
    if (Date.now() > until) return { calls, replies, firstCallMs, timedOut: true }
    await sleep(250)
  }
}
