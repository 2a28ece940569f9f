// runGates: the whole gate suite against one fresh OpenClaw (docs/gates.md).
// Order of work: the Bot API stand-in and the recording avots proxy start,
// the host lays out the shipped config in a fresh state dir and starts the
// gateway. Then two lanes: the CLI gates one after another, and, once the
// gateway is ready, the owner's DM, the stranger's DM, the socket checks and
// the non-owner turn (the avots smoke beside them). On a host the lanes run at
// once; in the VM one after the other, conversations first. Last, the
// gateway stops and the leftovers are searched for the run's secrets.
// The report lists the gates in their canonical order.
import { randomBytes, randomInt } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { ClawbakeError, envError, usageError } from '../errors.ts'
import { projectPaths } from '../paths.ts'
import { readPinRecord } from '../pins/record.ts'
import { startTelegramStandin, type TelegramStandin } from '../standins/telegram.ts'
import { avotsSmoke } from './avots-smoke.ts'
import { startAvotsProxy, type AvotsProxy } from './avots-proxy.ts'
import { configValid, doctor, models, securityAudit } from './cli-gates.ts'
import { waitReady } from './conversation.ts'
import { GATE_IDS, gatesFor, isGateId, timed, type GateId, type GateReport, type GateResult } from './gate.ts'
import type { Gateway, OpenclawHost } from './host.ts'
import { startLocalHost, type HostEnvironment } from './host-local.ts'
import { composeNetworkAddress, composeTarget, startComposeHost } from './host-compose.ts'
import { adminTunnel } from './admin-tunnel.ts'
import { layOutConfig, unexpandedKeys } from './layout.ts'
import { loopbackOnly } from './loopback-only.ts'
import { noSecretLeft } from './no-secret-left.ts'
import { ownerExec } from './owner-exec.ts'
import { strangerRefused, strangerWindowMs } from './stranger-refused.ts'
import { untrustedTools } from './untrusted-tools.ts'
import { vmEgress } from './egress-vm.ts'

export type { GateReport, GateResult } from './gate.ts'

export const DEFAULT_AVOTS_BASE_URL = 'https://api.avots.ai/openai/v1'

const NEEDS_GATEWAY: GateId[] = ['owner-exec', 'stranger-refused', 'untrusted-tools', 'loopback-only', 'admin-tunnel', 'egress']

export interface RunIdentity {
  nonce: string
  ownerId: number
  strangerId: number
  gatewayToken: string
  botToken: string
}

const GATEWAY_TOKEN_RE = /^[A-Za-z0-9._~-]{32,}$/
const BOT_TOKEN_RE = /^[0-9]{5,}:[A-Za-z0-9_-]{30,}$/

/**
 * Per-run values: a nonce the model cannot have seen, ids and test secrets
 * made up now. The bake makes the gateway and bot tokens itself and hands
 * them in (CLAWBAKE_GATE_GATEWAY_TOKEN, CLAWBAKE_GATE_BOT_TOKEN), so that it
 * can mask them and search the captured disk for them.
 */
export function newRunIdentity(env: Record<string, string | undefined> = {}): RunIdentity {
  const given = (name: string, re: RegExp): string | undefined => {
    const v = env[name]
    if (v === undefined || v === '') return undefined
    if (!re.test(v)) throw usageError(`${name} is malformed (expected ${re.source})`, 'gates.identity')
    return v
  }
  const ownerId = randomInt(100_000_000, 2_000_000_000)
  let strangerId = randomInt(100_000_000, 2_000_000_000)
  if (strangerId === ownerId) strangerId++
  return {
    nonce: randomBytes(8).toString('hex'),
    ownerId,
    strangerId,
    gatewayToken: given('CLAWBAKE_GATE_GATEWAY_TOKEN', GATEWAY_TOKEN_RE) ?? randomBytes(32).toString('hex'),
    botToken: given('CLAWBAKE_GATE_BOT_TOKEN', BOT_TOKEN_RE) ?? `${randomInt(1_000_000_000, 9_000_000_000)}:${randomBytes(26).toString('base64url')}`,
  }
}

function parseOnly(only: string[] | undefined, mode: 'local' | 'vm'): Set<GateId> {
  if (!only || only.length === 0) return new Set(gatesFor(mode))
  const bad = only.filter(id => !isGateId(id))
  if (bad.length) throw usageError(`unknown gate id(s): ${bad.join(', ')} (known: ${GATE_IDS.join(', ')})`, 'gates.unknown-id')
  const vmOnly = only.filter(id => !gatesFor(mode).includes(id as GateId))
  if (vmOnly.length) throw usageError(`gate(s) ${vmOnly.join(', ')} prove a VM and run only there (in the bake's build VM, and in the boot test)`, 'gates.vm-only')
  return new Set(only as GateId[])
}

function positiveMs(env: Record<string, string | undefined>, name: string, fallback: number): number {
  const v = env[name]
  if (v === undefined || v === '') return fallback
  const n = Number(v)
  if (!Number.isFinite(n) || n <= 0) throw usageError(`${name} must be a positive number of milliseconds, got ${JSON.stringify(v)}`, 'gates.timeout')
  return n
}

export async function runGates(opts: {
  mode: 'local' | 'vm'
  root: string
  env: Record<string, string | undefined>
  only?: string[]
  log?: (line: string) => void
}): Promise<GateReport> {
  const selected = parseOnly(opts.only, opts.mode)
  const log = opts.log ?? (() => {})
  const paths = projectPaths(opts.root)
  const pin = readPinRecord(paths.pinsLock)
  let shippedConfig: string
  try {
    shippedConfig = readFileSync(paths.openclawConfig, 'utf8')
  } catch (e) {
    throw new ClawbakeError(`cannot read the shipped OpenClaw config: ${(e as Error).message}`, { file: paths.openclawConfig, rule: 'gates.config-missing' }, 2)
  }
  const avotsBaseUrl = (opts.env.AVOTS_BASE_URL || DEFAULT_AVOTS_BASE_URL).replace(/\/+$/, '')
  const avotsKey = opts.env.AVOTS_API_KEY ?? ''
  if (!avotsKey) throw envError('AVOTS_API_KEY is not set: the gates talk to avots (or a stand-in at AVOTS_BASE_URL) with it', { field: 'AVOTS_API_KEY', rule: 'env.avots-key-missing' })
  try { new URL(avotsBaseUrl) } catch { throw usageError(`AVOTS_BASE_URL is not a URL: ${avotsBaseUrl}`, 'env.avots-base-url') }
  const timeouts = {
    ready: positiveMs(opts.env, 'CLAWBAKE_GATE_READY_MS', 240_000),
    turn: positiveMs(opts.env, 'CLAWBAKE_GATE_TURN_MS', 150_000),
  }
  // How much slower than the host this machine runs OpenClaw (a TCG guest: 15-20x for CLI work); the bake sets it.
  const timeScale = positiveMs(opts.env, 'CLAWBAKE_GATE_TIME_SCALE', 1)

  const id = newRunIdentity(opts.env)
  const results = new Map<GateId, GateResult>()
  const record = (r: GateResult) => {
    results.set(r.id as GateId, r)
    log(`${r.ok ? 'ok  ' : 'FAIL'} ${r.id} (${(r.ms / 1000).toFixed(1)} s): ${r.detail}`)
  }
  const want = (g: GateId) => selected.has(g)

  let proxy: AvotsProxy | undefined
  let tg: TelegramStandin | undefined
  let host: OpenclawHost | undefined
  let gateway: Gateway | undefined
  let composeGateway: string | undefined
  try {
    // In the VM the containers reach this machine only at the compose network's gateway address.
    const target = composeTarget(opts.env)
    if (opts.mode === 'vm') composeGateway = await composeNetworkAddress(target)
    const bindHost = composeGateway ?? '127.0.0.1'
    proxy = await startAvotsProxy(avotsBaseUrl, bindHost)
    tg = await startTelegramStandin({ token: id.botToken, host: bindHost })
    const he: HostEnvironment = {
      vars: {
        OPENCLAW_GATEWAY_TOKEN: id.gatewayToken,
        AVOTS_BASE_URL: proxy.baseUrl,
        AVOTS_API_KEY: avotsKey,
        TELEGRAM_BOT_TOKEN: id.botToken,
        OWNER_TELEGRAM_ID: String(id.ownerId),
      },
      apiRoot: tg.apiRoot,
      shippedConfig,
      version: pin.tag,
      env: opts.env,
    }
    log(`verify (${opts.mode}): openclaw ${pin.tag}, run nonce ${id.nonce}`)
    host = opts.mode === 'local' ? await startLocalHost(he) : await startComposeHost(he, { target, timeScale })
    log(`state dir ${host.stateDir}`)

    let ready: Promise<string | null> = Promise.resolve('not started')
    if (NEEDS_GATEWAY.some(want)) {
      gateway = await host.startGateway()
      const gw = gateway
      ready = waitReady(host, gw, tg, timeouts.ready).then(
        () => null,
        async (e: Error) => `${e.message}${gw.evidence ? `; ${await gw.evidence().catch(x => `no evidence: ${(x as Error).message}`)}` : ''}`,
      )
    }

    // The CLI gates (one at a time) and the conversations; the avots smoke beside them.
    const h = host
    const smoke = want('avots-smoke')
      ? timed('avots-smoke', () => avotsSmoke({ baseUrl: avotsBaseUrl, apiKey: avotsKey, marker: `clawbake-smoke-${id.nonce}` })).then(record)
      : Promise.resolve()
    // In the VM (2 vCPUs, often TCG) OpenClaw's CLI and a starting gateway fight over the state
    // database's locks and the CPU until the gateway's startup lease heartbeat times out: there the
    // gateway comes up first, alone, then the conversations, then the CLI gates. On a host they overlap.
    const sequential = opts.mode === 'vm'
    const cliLane = async () => {
      if (want('config-valid')) record(await timed('config-valid', () => configValid(h, unexpandedKeys(layOutConfig(shippedConfig, { ownerId: String(id.ownerId), apiRoot: 'http://127.0.0.1:9' })))))
      if (want('doctor')) record(await timed('doctor', () => doctor(h)))
      if (want('security-audit')) record(await timed('security-audit', () => securityAudit(h)))
      if (want('models')) record(await timed('models', () => models(h)))
    }
    const gw = gateway
    const t = tg
    const p = proxy
    const conversationLane = async () => {
      if (!gw) return
      const t0 = performance.now()
      const notReady = await ready
      const restarts = gw.restarts ? await gw.restarts() : 0
      log(notReady ? `gateway not ready: ${notReady}` : `gateway ready after ${((performance.now() - t0) / 1000).toFixed(1)} s${restarts ? ` (after ${restarts} restart(s) by Docker's restart policy)` : ''}`)
      const blocked = (g: GateId) => ({ id: g, ok: false, detail: `gateway not ready: ${notReady}`, ms: 0 })
      let ownerTurnMs: number | null = null
      if (want('owner-exec')) {
        if (notReady) record(blocked('owner-exec'))
        else record(await timed('owner-exec', async () => {
          const r = await ownerExec({ host: h, tg: t, proxy: p, ownerId: id.ownerId, nonce: id.nonce, timeoutMs: timeouts.turn })
          ownerTurnMs = r.turnMs
          return r
        }))
      }
      if (want('stranger-refused')) {
        // watch at least as long as the owner's whole turn took in this run
        const windowMs = strangerWindowMs(ownerTurnMs, timeScale)
        if (notReady) record(blocked('stranger-refused'))
        else record(await timed('stranger-refused', () => strangerRefused({ host: h, tg: t, proxy: p, strangerId: id.strangerId, nonce: `${id.nonce}s`, windowMs, timeoutMs: 60_000 * timeScale, gatewayOutput: () => gw.output() })))
      }
      if (want('loopback-only')) {
        if (notReady) record(blocked('loopback-only'))
        else record(await timed('loopback-only', () => loopbackOnly(h)))
      }
      if (want('admin-tunnel')) {
        if (notReady) record(blocked('admin-tunnel'))
        else record(await timed('admin-tunnel', () => adminTunnel(h, { gatewayToken: id.gatewayToken, ...(composeGateway ? { composeGateway } : {}) })))
      }
      if (want('untrusted-tools')) {
        if (notReady) record(blocked('untrusted-tools'))
        else record(await timed('untrusted-tools', () => untrustedTools({ host: h, proxy: p, nonce: `${id.nonce}u`, timeoutMs: timeouts.turn })))
      }
    }
    // In the VM the CLI gates run once the conversations are done, beside the running gateway: the
    // shipped openclaw-cli service shares the gateway container's network namespace, so it needs it.
    // The egress gate (VM only) comes last: it restarts Docker and the stack, which nothing after it needs
    const egressLane = async () => {
      if (!want('egress') || !gw) return
      const notReady = await ready
      if (notReady) record({ id: 'egress', ok: false, detail: `gateway not ready: ${notReady}`, ms: 0 })
      else record(await timed('egress', () => vmEgress({ tg: t, proxy: p, ownerId: id.ownerId, nonce: `${id.nonce}e`, turnMs: timeouts.turn, timeScale, bridge: composeGateway ?? '' })))
    }
    if (sequential) await conversationLane().then(cliLane).then(egressLane)
    else await Promise.all([cliLane(), conversationLane()]).then(egressLane)
    await smoke
    await gateway?.stop()

    if (want('no-secret-left')) {
      record(await timed('no-secret-left', () => noSecretLeft(h, [
        { name: 'the avots API key', value: avotsKey },
        { name: 'the gateway token', value: id.gatewayToken },
        { name: 'the bot token', value: id.botToken },
      ])))
    }
  } finally {
    // For debugging a failed gate: every model call OpenClaw made (prompts, tools; no credentials).
    if (opts.env.CLAWBAKE_GATE_DUMP && proxy) writeFileSync(opts.env.CLAWBAKE_GATE_DUMP, JSON.stringify(proxy.calls(), null, 2) + '\n', { mode: 0o600 })
    await gateway?.stop().catch(() => {})
    await host?.close().catch(() => {})
    await tg?.close().catch(() => {})
    await proxy?.close().catch(() => {})
  }

  const gates = gatesFor(opts.mode).filter(want).map(g => results.get(g) ?? { id: g, ok: false, detail: 'did not run', ms: 0 })
  return { ok: gates.every(g => g.ok), openclawVersion: host?.version ?? pin.tag, mode: opts.mode, gates }
}
