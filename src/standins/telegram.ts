// The product's own Telegram Bot API stand-in. The build VM has no client bot
// token and must not reach api.telegram.org, so the gate suite points
// OpenClaw's `channels.telegram.apiRoot` at this loopback server, injects DMs
// "from" a given user id and watches what the bot sends back.
//
// It speaks the real Bot API wire format (https://core.telegram.org/bots/api):
// `POST|GET <root>/bot<token>/<method>` with parameters in the query string,
// a JSON, urlencoded or multipart body; answers `{ok:true, result}` or
// `{ok:false, error_code, description}` with the matching HTTP status;
// getUpdates long-polls with `timeout`, confirms with `offset`, and a second
// concurrent getUpdates terminates the first with 409, as Telegram does.
import { createServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface TelegramUser {
  id: number
  is_bot: boolean
  first_name: string
  username?: string
  language_code?: string
}

export interface TelegramChat {
  id: number
  type: 'private'
  first_name: string
  username?: string
}

export interface TelegramMessage {
  message_id: number
  from: TelegramUser
  chat: TelegramChat
  date: number
  text?: string
  edit_date?: number
  [k: string]: unknown
}

export interface TelegramUpdate {
  update_id: number
  message: TelegramMessage
}

/** One Bot API call as the client made it (token never recorded). */
export interface BotCall {
  method: string
  params: Record<string, unknown>
  status: number
  at: number
}

/** A message the bot sent (sendMessage) or edited into its final text (editMessageText). */
export interface BotReply {
  chatId: number
  messageId: number
  text: string
  method: string
  at: number
}

export interface TelegramStandin {
  /** the value for `channels.telegram.apiRoot` */
  apiRoot: string
  token: string
  bot: TelegramUser
  /** Inject a private message from `from` to the bot; returns the queued update. */
  sendDm(from: { id: number; first_name?: string; username?: string }, text: string): TelegramUpdate
  /** every Bot API call so far, oldest first */
  calls(): BotCall[]
  /** every message the bot sent or edited, oldest first (optionally for one chat) */
  replies(chatId?: number): BotReply[]
  /** true once getUpdates handed `updateId` to the client */
  delivered(updateId: number): boolean
  /** true once the client confirmed `updateId` (a later getUpdates with offset > updateId) */
  confirmed(updateId: number): boolean
  /** number of getUpdates calls answered so far */
  polls(): number
  /**
   * where the next stand-in for the same bot goes on from: Telegram never hands out an update_id
   * or a chat's message_id twice, and OpenClaw keeps both (its offset, its dispatch dedupe) in its state
   */
  sequence(): { updateId: number; messageId: number }
  close(): Promise<void>
}

export interface TelegramStandinOptions {
  /** `<bot id>:<secret>`, as BotFather issues them */
  token: string
  username?: string
  /** 127.0.0.1 (default); never a public address */
  host?: string
  port?: number
  /**
   * the first update_id: Telegram numbers a bot's updates in one rising sequence, and a client
   * that confirmed update N never asks for an earlier one again; the same bot's next stand-in
   * (its VM rebooted onto a kept state) goes on from the last one's nextUpdateId()
   */
  firstUpdateId?: number
  /** the first message_id, likewise (OpenClaw drops a message whose id it dispatched before) */
  firstMessageId?: number
}

interface Waiter {
  offset: number
  limit: number
  res: ServerResponse
  timer: NodeJS.Timeout
}

const TOKEN_RE = /^(\d+):[A-Za-z0-9_-]{20,}$/

export async function startTelegramStandin(opts: TelegramStandinOptions): Promise<TelegramStandin> {
  const m = TOKEN_RE.exec(opts.token)
  if (!m) throw new Error('telegram stand-in: token must look like <digits>:<secret of 20+ [A-Za-z0-9_-]>')
  const bot: TelegramUser = { id: Number(m[1]), is_bot: true, first_name: 'clawbake gate bot', username: opts.username ?? 'clawbake_gate_bot' }
  const pending: TelegramUpdate[] = []
  const deliveredIds = new Set<number>()
  let confirmedBelow = 0
  let nextUpdateId = opts.firstUpdateId ?? 100_000 + Math.floor(Math.random() * 1000)
  let nextMessageId = opts.firstMessageId ?? 1
  const chats = new Map<number, TelegramChat>()
  const messages = new Map<string, TelegramMessage>()
  const callLog: BotCall[] = []
  const replyLog: BotReply[] = []
  let pollCount = 0
  let webhookUrl = ''
  let waiter: Waiter | null = null
  let closed = false

  const now = () => Math.floor(Date.now() / 1000)

  function send(res: ServerResponse, status: number, body: unknown): void {
    if (res.writableEnded) return
    const text = JSON.stringify(body)
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
    res.end(text)
  }
  const ok = (res: ServerResponse, result: unknown) => send(res, 200, { ok: true, result })
  const fail = (res: ServerResponse, code: number, description: string) => send(res, code, { ok: false, error_code: code, description })

  function available(offset: number, limit: number): TelegramUpdate[] {
    return pending.filter(u => u.update_id >= offset).slice(0, limit)
  }

  function confirm(offset: number): void {
    // Telegram: an update is confirmed as soon as getUpdates is called with an offset higher than its update_id.
    if (offset > confirmedBelow) confirmedBelow = offset
    for (let i = pending.length - 1; i >= 0; i--) if (pending[i]!.update_id < offset) pending.splice(i, 1)
  }

  function deliver(res: ServerResponse, offset: number, limit: number): void {
    const batch = available(offset, limit)
    for (const u of batch) deliveredIds.add(u.update_id)
    ok(res, batch)
  }

  function wake(): void {
    if (!waiter) return
    const w = waiter
    if (available(w.offset, w.limit).length === 0) return
    waiter = null
    clearTimeout(w.timer)
    deliver(w.res, w.offset, w.limit)
  }

  function chatFor(params: Record<string, unknown>, res: ServerResponse): TelegramChat | null {
    const id = Number(params.chat_id)
    const chat = Number.isFinite(id) ? chats.get(id) : undefined
    if (!chat) {
      fail(res, 400, 'Bad Request: chat not found')
      return null
    }
    return chat
  }

  function record(method: string, params: Record<string, unknown>, res: ServerResponse): void {
    callLog.push({ method, params, status: res.statusCode, at: Date.now() })
  }

  function handle(method: string, params: Record<string, unknown>, res: ServerResponse): void {
    switch (method) {
      case 'getMe':
        return ok(res, { ...bot, can_join_groups: false, can_read_all_group_messages: false, supports_inline_queries: false, can_connect_to_business: false, has_main_web_app: false })
      case 'logOut':
      case 'close':
        return ok(res, true)
      case 'deleteWebhook':
        webhookUrl = ''
        if (params.drop_pending_updates === true || params.drop_pending_updates === 'true') pending.length = 0
        return ok(res, true)
      case 'setWebhook':
        webhookUrl = String(params.url ?? '')
        return ok(res, true)
      case 'getWebhookInfo':
        return ok(res, { url: webhookUrl, has_custom_certificate: false, pending_update_count: pending.length })
      case 'getUpdates': {
        if (webhookUrl) return fail(res, 409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first")
        const offset = params.offset === undefined ? 0 : Number(params.offset)
        const limit = Math.min(100, Math.max(1, params.limit === undefined ? 100 : Number(params.limit)))
        const timeout = Math.min(50, Math.max(0, params.timeout === undefined ? 0 : Number(params.timeout)))
        if (!Number.isFinite(offset) || !Number.isFinite(limit) || !Number.isFinite(timeout)) return fail(res, 400, 'Bad Request: wrong parameter')
        pollCount++
        confirm(offset)
        if (waiter) {
          // Telegram terminates the older long poll when a new one arrives.
          const old = waiter
          waiter = null
          clearTimeout(old.timer)
          fail(old.res, 409, 'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running')
        }
        if (available(offset, limit).length > 0 || timeout === 0) return deliver(res, offset, limit)
        const w: Waiter = {
          offset,
          limit,
          res,
          timer: setTimeout(() => {
            if (waiter === w) waiter = null
            deliver(res, offset, limit)
          }, timeout * 1000),
        }
        waiter = w
        res.on('close', () => {
          if (waiter === w) {
            waiter = null
            clearTimeout(w.timer)
          }
        })
        return
      }
      case 'sendMessage': {
        const chat = chatFor(params, res)
        if (!chat) return
        const text = typeof params.text === 'string' ? params.text : ''
        if (!text.trim()) return fail(res, 400, 'Bad Request: message text is empty')
        if (text.length > 4096) return fail(res, 400, 'Bad Request: message is too long')
        const msg: TelegramMessage = { message_id: nextMessageId++, from: bot, chat, date: now(), text }
        messages.set(`${chat.id}:${msg.message_id}`, msg)
        replyLog.push({ chatId: chat.id, messageId: msg.message_id, text, method, at: Date.now() })
        return ok(res, msg)
      }
      case 'editMessageText': {
        const chat = chatFor(params, res)
        if (!chat) return
        const msg = messages.get(`${chat.id}:${Number(params.message_id)}`)
        if (!msg) return fail(res, 400, 'Bad Request: message to edit not found')
        const text = typeof params.text === 'string' ? params.text : ''
        if (!text.trim()) return fail(res, 400, 'Bad Request: message text is empty')
        if (text === msg.text) return fail(res, 400, 'Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message')
        msg.text = text
        msg.edit_date = now()
        replyLog.push({ chatId: chat.id, messageId: msg.message_id, text, method, at: Date.now() })
        return ok(res, msg)
      }
      case 'deleteMessage': {
        const chat = chatFor(params, res)
        if (!chat) return
        if (!messages.delete(`${chat.id}:${Number(params.message_id)}`)) return fail(res, 400, 'Bad Request: message to delete not found')
        return ok(res, true)
      }
      case 'sendChatAction':
      case 'setMessageReaction':
      case 'sendMessageDraft':
        if (!chatFor(params, res)) return
        return ok(res, true)
      case 'getChat': {
        const chat = chatFor(params, res)
        if (!chat) return
        return ok(res, { ...chat, accent_color_id: 0, max_reaction_count: 11, accepted_gift_types: { unlimited_gifts: false, limited_gifts: false, unique_gifts: false, premium_subscription: false } })
      }
      case 'setMyCommands':
      case 'deleteMyCommands':
      case 'setMyDescription':
      case 'setMyShortDescription':
      case 'setMyName':
      case 'setChatMenuButton':
        return ok(res, true)
      case 'getMyCommands':
        return ok(res, [])
      case 'getMyName':
        return ok(res, { name: bot.first_name })
      case 'getMyDescription':
        return ok(res, { description: '' })
      case 'getMyShortDescription':
        return ok(res, { short_description: '' })
      case 'getChatMenuButton':
        return ok(res, { type: 'commands' })
      default:
        return fail(res, 404, 'Not Found')
    }
  }

  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1')
      const parts = url.pathname.split('/').filter(Boolean)
      const [botSegment, method] = parts.length === 2 ? parts : [undefined, undefined]
      if (!botSegment?.startsWith('bot') || !method) return fail(res, 404, 'Not Found')
      if (decodeURIComponent(botSegment.slice(3)) !== opts.token) return fail(res, 401, 'Unauthorized')
      let params: Record<string, unknown>
      try {
        params = { ...Object.fromEntries(url.searchParams), ...(await readParams(req)) }
      } catch {
        return fail(res, 400, "Bad Request: can't parse request body")
      }
      handle(method, params, res)
      if (method !== 'getUpdates' || res.writableEnded) record(method, params, res)
      else res.once('finish', () => record(method, params, res))
    })().catch(() => fail(res, 500, 'Internal Server Error'))
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as AddressInfo

  return {
    apiRoot: `http://${opts.host ?? '127.0.0.1'}:${port}`,
    token: opts.token,
    bot,
    sendDm(from, text) {
      const user: TelegramUser = { id: from.id, is_bot: false, first_name: from.first_name ?? `user${from.id}`, language_code: 'en', ...(from.username ? { username: from.username } : {}) }
      const chat: TelegramChat = { id: from.id, type: 'private', first_name: user.first_name, ...(from.username ? { username: from.username } : {}) }
      chats.set(chat.id, chat)
      const message: TelegramMessage = { message_id: nextMessageId++, from: user, chat, date: now(), text }
      messages.set(`${chat.id}:${message.message_id}`, message)
      const update: TelegramUpdate = { update_id: nextUpdateId++, message }
      pending.push(update)
      wake()
      return update
    },
    calls: () => callLog.slice(),
    replies: chatId => replyLog.filter(r => chatId === undefined || r.chatId === chatId),
    delivered: id => deliveredIds.has(id),
    confirmed: id => id < confirmedBelow,
    polls: () => pollCount,
    sequence: () => ({ updateId: nextUpdateId, messageId: nextMessageId }),
    async close() {
      if (closed) return
      closed = true
      if (waiter) {
        clearTimeout(waiter.timer)
        waiter.res.destroy()
        waiter = null
      }
      server.closeAllConnections()
      await new Promise<void>(resolve => server.close(() => resolve()))
    },
  }
}

async function readParams(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = []
  for await (const c of req) chunks.push(c as Buffer)
  const body = Buffer.concat(chunks)
  if (body.length === 0) return {}
  const type = String(req.headers['content-type'] ?? '')
  if (type.includes('application/json')) {
    const v = JSON.parse(body.toString('utf8')) as unknown
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('body is not an object')
    return v as Record<string, unknown>
  }
  if (type.includes('application/x-www-form-urlencoded')) return decodeFields(Object.fromEntries(new URLSearchParams(body.toString('utf8'))))
  if (type.includes('multipart/form-data')) {
    const boundary = /boundary=(?:"([^"]+)"|([^;]+))/.exec(type)
    if (!boundary) throw new Error('multipart without boundary')
    return decodeFields(parseMultipart(body, boundary[1] ?? boundary[2] ?? ''))
  }
  throw new Error(`unsupported content-type ${type}`)
}

/** Bot API form fields carry JSON-serialized objects (reply_markup, ...) as strings. */
function decodeFields(fields: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(fields)) {
    out[k] = v
    if (/^[[{]/.test(v)) {
      try { out[k] = JSON.parse(v) } catch { /* keep the string */ }
    }
  }
  return out
}

function parseMultipart(body: Buffer, boundary: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const part of body.toString('latin1').split(`--${boundary}`)) {
    const sep = part.indexOf('\r\n\r\n')
    if (sep < 0) continue
    const head = part.slice(0, sep)
    const name = /name="([^"]*)"/.exec(head)?.[1]
    if (!name || /filename=/.test(head)) continue
    out[name] = Buffer.from(part.slice(sep + 4).replace(/\r\n$/, ''), 'latin1').toString('utf8')
  }
  return out
}
