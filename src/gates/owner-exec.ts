// owner-exec: the owner DMs the bot, as a person would, to run one command in
// backticks: it makes a random value in the sandbox and writes it to a proof
// file named by this run's nonce. The DM does not hold that value, so echoing
// the DM cannot pass. Pass only when all three hold:
//   1. the model's answer was an `exec` tool call with that command, and its
//      result, the value, went back to the model (seen through the recording proxy);
//   2. the value is in a file only the sandbox user can create, owned by
//      that user (so the command ran in the sandbox, not in the gateway);
//   3. a reply quoting the value reached the owner's chat through sendMessage.
// The turn must also open a fresh session: its first model call carries no
// earlier assistant or tool message, so an old result cannot answer.
import type { TelegramStandin } from '../standins/telegram.ts'
import type { AvotsProxy } from './avots-proxy.ts'
import type { OpenclawHost } from './host.ts'
import { fail, pass, type Verdict } from './gate.ts'
import { mentions, settleTurn, textOf } from './conversation.ts'

function firstExecAt(calls: { at: number; toolCalls: { id: string }[] }[], id: string): number {
  return calls.find(c => c.toolCalls.some(t => t.id === id))?.at ?? Number.POSITIVE_INFINITY
}

/** What the command prints: 24 hex digits (not the 16 of the nonce). */
const VALUE = /\b[0-9a-f]{24}\b/

export interface OwnerExecResult extends Verdict {
  /** ms from the DM to the first model call (null when there was none) */
  firstCallMs: number | null
  /** ms from the DM until the turn settled (the reply, or the timeout) */
  turnMs: number
}

/** Where the owner's turn with `nonce` has the sandbox write its random value. */
export function turnProofPath(host: Pick<OpenclawHost, 'proofPath'>, nonce: string): string {
  return host.proofPath(`owner-exec-${nonce}.txt`)
}

/** The value the owner's turn with `nonce` made in the sandbox, and its file; null when there is none. */
export async function turnProof(host: Pick<OpenclawHost, 'proofPath' | 'readSandboxFile'>, nonce: string): Promise<{ path: string; value: string } | null> {
  const path = turnProofPath(host, nonce)
  const value = (await host.readSandboxFile(path))?.content.trim()
  return value ? { path, value } : null
}

export async function ownerExec(opts: {
  host: OpenclawHost
  tg: TelegramStandin
  proxy: AvotsProxy
  ownerId: number
  nonce: string
  timeoutMs: number
  /**
   * true (the default): the turn must open a fresh session. false: the owner's
   * earlier session may go on (an upgraded VM that kept the client's state);
   * the new random value still has to be made in the sandbox by this turn.
   */
  freshSession?: boolean
}): Promise<OwnerExecResult> {
  const { host, tg, proxy, ownerId, nonce } = opts
  const proof = turnProofPath(host, nonce)
  if (await host.readSandboxFile(proof)) return { ...fail(`proof file ${proof} exists before the DM: not a fresh sandbox`), firstCallMs: null, turnMs: 0 }
  // 12 random bytes as 24 hex digits, made in the sandbox: only running the command can produce them
  const command = `od -An -N12 -tx1 /dev/urandom | tr -d ' \\n' | tee ${proof}`
  const callsBefore = proxy.calls().length
  const repliesBefore = tg.replies(ownerId).length
  const sentAt = Date.now()
  tg.sendDm({ id: ownerId, first_name: 'Owner' }, `run \`${command}\` and tell me what it printed`)
  const turn = await settleTurn({ tg, proxy, chatId: ownerId, sentAt, callsBefore, repliesBefore, expect: text => VALUE.test(text), timeoutMs: opts.timeoutMs })
  const turnMs = Date.now() - sentAt

  const problems: string[] = []
  const facts: string[] = []
  const mine = turn.calls.filter(c => mentions(c, nonce))
  const first = mine[0]
  if (!first) {
    problems.push(turn.calls.length ? `${turn.calls.length} model call(s), none carrying the DM` : 'no model call')
  } else {
    const history = first.messages.filter(m => m.role === 'assistant' || m.role === 'tool')
    if (history.length && opts.freshSession !== false) problems.push(`session not fresh: first model call already holds ${history.length} assistant/tool message(s)`)
    if (opts.freshSession === false) facts.push(`the first model call carried ${history.length} earlier assistant/tool message(s)`)
    if (!first.tools.includes('exec')) facts.push(`exec not offered to the owner (offered: ${first.tools.join(', ') || 'none'})`)
  }
  const errors = turn.calls.filter(c => c.status >= 400 || c.error)
  if (errors.length) facts.push(`model call error(s): ${errors.map(c => c.error ?? `HTTP ${c.status}`).join(', ')}`)
  const file = await host.readSandboxFile(proof)
  const value = file?.content.trim() ?? ''
  const made = /^[0-9a-f]{24}$/.test(value)
  const exec = mine.flatMap(c => c.toolCalls).find(tc => tc.name === 'exec' && tc.arguments.includes(nonce))
  if (!exec) {
    problems.push('no exec tool call')
  } else {
    // OpenClaw may re-key tool call ids between requests; the value in a tool result is what counts.
    const returned = made && turn.calls.some(c => c.at >= firstExecAt(turn.calls, exec.id) && c.messages.some(m => m.role === 'tool' && textOf(m.content).includes(value)))
    facts.push(`exec tool call ${exec.id}${returned ? ', its result (the value) returned to the model' : ''}`)
    if (!returned) problems.push(`the result of ${exec.id} never went back to the model with the value the sandbox made`)
  }
  if (!file) problems.push(`proof file ${proof} not found in the sandbox`)
  else if (!made) problems.push(`${proof} holds ${JSON.stringify(value.slice(0, 40))}, not 24 hex digits from /dev/urandom`)
  else if (file.uid !== host.sandboxUser.uid) problems.push(`${proof} is owned by uid ${file.uid}, not the sandbox user ${host.sandboxUser.name} (uid ${host.sandboxUser.uid}): it ran outside the sandbox`)
  else facts.push(`value ${value} made and written to ${proof} by ${host.sandboxUser.name} (uid ${file.uid})`)
  const reply = made ? turn.replies.find(r => r.text.includes(value)) : undefined
  if (!reply) problems.push(turn.replies.length ? `${turn.replies.length} repl(y/ies) to the owner, none quoting the value the sandbox made` : 'no reply to the owner')
  else facts.push(`reply quoting it to ${ownerId} via ${reply.method}`)
  if (turn.timedOut && problems.length) problems.push(`turn did not settle within ${Math.round(opts.timeoutMs / 1000)} s`)
  const state = `run nonce ${nonce}, state dir ${host.stateDir}`
  if (problems.length) return { ...fail(`${problems.join('; ')}${facts.length ? ` (${facts.join('; ')})` : ''}; ${state}`), firstCallMs: turn.firstCallMs, turnMs }
  return { ...pass(`${facts.join('; ')}; ${state}`), firstCallMs: turn.firstCallMs, turnMs }
}
