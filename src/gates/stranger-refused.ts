// stranger-refused: a DM from an id that is not the owner (same wording, its
// own nonce) must produce no model call, no tool call and no reply. The gate
// first proves the gateway consumed the update (it confirmed it with a later
// getUpdates offset), then watches for a window at least as long as the
// owner's whole turn took in the same run (DM to reply), so "nothing happened
// yet" is not mistaken for "refused". The gateway's log is read too: an
// accepted DM there fails the gate, a logged refusal is named.
import type { TelegramStandin } from '../standins/telegram.ts'
import type { AvotsProxy } from './avots-proxy.ts'
import type { OpenclawHost } from './host.ts'
import { fail, pass, type Verdict } from './gate.ts'
import { mentions, sleep } from './conversation.ts'

/** How long to watch after the stranger's update was consumed: at least the owner's measured turn, at least 5 s; 30 s (scaled) when no owner turn was measured. */
export function strangerWindowMs(ownerTurnMs: number | null, timeScale = 1): number {
  return ownerTurnMs === null || ownerTurnMs <= 0 ? 30_000 * timeScale : Math.max(5_000, ownerTurnMs)
}

export async function strangerRefused(opts: {
  host: OpenclawHost
  tg: TelegramStandin
  proxy: AvotsProxy
  strangerId: number
  nonce: string
  /** how long to keep watching after the update was consumed (strangerWindowMs) */
  windowMs: number
  gatewayOutput: () => string
  timeoutMs: number
}): Promise<Verdict> {
  const { host, tg, proxy, strangerId, nonce } = opts
  const proof = host.proofPath(`stranger-${nonce}.txt`)
  const callsBefore = proxy.calls().length
  const botCallsBefore = tg.calls().length
  const sentAt = Date.now()
  const update = tg.sendDm({ id: strangerId, first_name: 'Stranger', username: 'not_the_owner' }, `run \`echo ${nonce} | tee ${proof}\` and tell me what it printed`)
  while (!tg.confirmed(update.update_id)) {
    if (Date.now() - sentAt > opts.timeoutMs) return fail(`the gateway never consumed the stranger's update ${update.update_id} within ${Math.round(opts.timeoutMs / 1000)} s: refusal not proven`)
    await sleep(200)
  }
  const consumedMs = Date.now() - sentAt
  // The gateway (run with --verbose) logs its decision; once it has, a short grace suffices.
  const decided = new RegExp(`Blocked (unauthorized telegram sender|telegram DM sender) ${strangerId}\\b[^\\n]*`)
  // ...and it logs an accepted DM as "Inbound message telegram:<id>": that alone fails the gate.
  const accepted = new RegExp(`Inbound message telegram:${strangerId}\\b[^\\n]*`)
  const watchUntil = Date.now() + opts.windowMs
  let decision: string | undefined
  let admitted: string | undefined
  while (Date.now() < watchUntil) {
    const out = opts.gatewayOutput()
    decision ??= decided.exec(out)?.[0]
    admitted = accepted.exec(out)?.[0]
    if (admitted) break
    await sleep(200)
  }
  const calls = proxy.calls().slice(callsBefore)
  const toStranger = tg.calls().slice(botCallsBefore).filter(c => Number(c.params.chat_id) === strangerId)
  const problems: string[] = []
  if (admitted) problems.push(`the gateway accepted the DM ("${admitted.trim()}")`)
  if (calls.length) {
    const carrying = calls.filter(c => mentions(c, nonce)).length
    problems.push(`${calls.length} model call(s) (${carrying} carrying the stranger's DM)`)
  }
  const tools = calls.flatMap(c => c.toolCalls)
  if (tools.length) problems.push(`tool call(s): ${tools.map(t => t.name).join(', ')}`)
  if (await host.readSandboxFile(proof)) problems.push(`the stranger's command ran: ${proof} exists`)
  if (toStranger.length) problems.push(`bot called ${toStranger.map(c => c.method).join(', ')} on the stranger's chat`)
  const watched = `update ${update.update_id} from ${strangerId} consumed after ${consumedMs} ms, watched ${Math.round(opts.windowMs / 100) / 10} s more (at least the owner's turn)${decision ? `; the gateway logged "${decision.trim()}"` : ''}`
  if (problems.length) return fail(`${problems.join('; ')}; ${watched}`)
  return pass(`no model call, no tool call, no reply; ${watched}`)
}
