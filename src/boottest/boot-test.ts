// The boot test: the captured image booted as a client's VM, offline, and
// proven again with the build VM's own gates. What a client's first boot
// does has run nowhere else: cloud-init with user-data from
// `clawbake user-data` (a per-run owner, bot token, avots key and gateway
// token), first-boot.sh, the stack started from the baked image with no
// pull, new host keys and machine-id. Then:
//   cloud-init          finished, no errors
//   no-build-leftovers  nothing of the build VM (user, gate state, CA, history)
//   stack               openclaw.service up, pinned digest, nothing pulled
//   owner-exec          the owner's DM runs `exec` in the sandbox (the gate of the build VM)
//   stranger-refused    a stranger's DM: no model call, no tool call, no reply
//   admin-tunnel        127.0.0.1:18789 through `ssh -L`, token enforced, nothing beyond loopback
//   client-secrets      only in state/.env (0600, uid 1000) and OpenClaw's own model cache beside it;
//                       cloud-init's copies gone (openclaw-forget-user-data.service ran)
//   fresh-identity      machine-id and SSH host keys are not the build VM's
//   state-disk          the state and the sandbox home are on the client's own disk (blank at boot,
//                       formatted by first boot), recorded for this owner, mounted at every boot
//   egress              the allowlist (src/gates/egress.ts), also after a Docker restart, a compose
//                       down/up and a reboot
//   upgrade             the VM powered off; a new root of the image with the first client's state
//                       disk: the state adopted (a copy saved), nothing lost, the same secrets, the
//                       earlier proof file and session kept, the owner answered with a sandbox tool run
//   second-boot         the same image, another owner, a blank state disk: the first owner is refused
// The VM reaches the Bot API stand-in and the recording avots proxy on this
// machine at qemu's host address (10.0.2.2), given to `clawbake user-data`
// as --telegram-api-root and --avots-base-url, as a client would give them.
import { randomBytes, randomInt } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ClawbakeError } from '../errors.ts'
import type { GateResult, Verdict } from '../gates/gate.ts'
import { waitReady, sleep } from '../gates/conversation.ts'
import { adminTunnel } from '../gates/admin-tunnel.ts'
import { ownerExec, turnProof } from '../gates/owner-exec.ts'
import { strangerRefused, strangerWindowMs } from '../gates/stranger-refused.ts'
import { startAvotsProxy, type AvotsProxy } from '../gates/avots-proxy.ts'
import { startTelegramStandin, type TelegramStandin } from '../standins/telegram.ts'
import { buildUserData } from '../provision/user-data.ts'
import { run, type Mask } from '../proc/run.ts'
import type { Accelerator, ClockChoice } from '../vm/accelerator.ts'
import { asSeenByGuest, blankStateDisk, bootClientVm, type ClientVm } from './vm.ts'
import { watchSerial, type GuestPanic } from '../vm/serial-watch.ts'
import { poweroffVm, rollBack, rollbackVerdict, stateEvidence, stateOnDisk, upgradeVerdict, type StateEvidence } from './upgrade.ts'
import { egressGate } from '../gates/egress.ts'
import { FORBIDDEN_ADDR, sshShell, startForbiddenStandin, type HostForbiddenStandin } from './egress.ts'
import { newSshKey, sshTo, type Ssh } from './ssh.ts'
import { sshOpenclaw } from './ssh-host.ts'
import { clientSecrets, cloudInitDone, firstBootEvidence, freshIdentity, machineIdentity, noBuildLeftovers, shippedPin, stackFromImage, tagOfRef, type MachineIdentity } from './checks.ts'


export const BOOT_CHECKS = ['cloud-init', 'no-build-leftovers', 'stack', 'owner-exec', 'stranger-refused', 'admin-tunnel', 'client-secrets', 'fresh-identity', 'state-disk', 'egress', 'upgrade', 'upgrade-from-previous', 'rollback', 'second-boot'] as const
export type BootCheck = (typeof BOOT_CHECKS)[number]

/** The checks a boot test with these options runs, in report order. */
export function bootChecksFor(o: Pick<BootTestOptions, 'upgrade' | 'secondBoot' | 'previous'>): BootCheck[] {
  const upgrade = o.upgrade !== false
  return BOOT_CHECKS.filter(c =>
    (c !== 'second-boot' || o.secondBoot !== false) &&
    (c !== 'upgrade' || upgrade) &&
    (c !== 'rollback' || upgrade) &&
    (c !== 'upgrade-from-previous' || (upgrade && !!o.previous)))
}

export interface BootTestReport {
  ok: boolean
  openclawVersion: string
  mode: 'boot'
  gates: GateResult[]
  /** the image booted: path and sha256 when known */
  image: string
  accelerator: Accelerator
  /** seconds, each measured from qemu's start of that boot */
  timings: { stage: string; ms: number }[]
  wallMs: number
  /** the first boot's VM: what its identity was (to compare with the build VM's) */
  identity: MachineIdentity | null
  /** where the overlays, serial logs and known_hosts are kept */
  dir: string
}

export interface BootTestOptions {
  image: string
  /** the pinned reference the stack must run (ghcr.io/openclaw/openclaw:<tag>@sha256:...); null: the one the image carries */
  pinnedRef: string | null
  /** the release the image runs; null: the tag of the pin the image carries */
  openclawVersion: string | null
  /** the project tree whose packer/files/ `clawbake user-data` renders from */
  root: string
  dir: string
  accelerator: Accelerator
  /** the guest clock (TCG); default real time */
  clock?: ClockChoice
  /** where the recording avots proxy forwards (the real avots, or the avots stand-in), as this machine reaches it */
  avotsUpstream: string
  avotsApiKey: string
  /** the build VM's identity (from the bake's manifest), when known */
  buildIdentity: MachineIdentity | null
  /** false: skip the second boot */
  secondBoot?: boolean
  /** false: skip the upgrade boot (a new root with the first client's state disk) and the rollback */
  upgrade?: boolean
  /**
   * the image clients run today (the channel's current one, pulled from the store): a client made on it is
   * moved onto this image (`upgrade-from-previous`), then rolled back onto it (`rollback`). Without it the
   * rollback goes back onto this same image, after the same-image upgrade. Both images run on `clock`.
   */
  previous?: { image: string; what: string }
  /** a user-data transform, for proving a broken first boot fails the test (the document as `clawbake user-data` made it) */
  editUserData?: (text: string) => string
  /** the default user of the image's cloud-init (debian, ubuntu); tried in order */
  sshUsers?: string[]
  timeouts?: { sshMs?: number; cloudInitMs?: number; readyMs?: number; turnMs?: number }
  timeScale?: number
  masker?: Mask & { add?(v: string): void }
  log?: (line: string) => void
  signal?: AbortSignal
}

interface Client {
  ownerId: number
  botToken: string
  gatewayToken: string
}

function newClient(): Client {
  return {
    ownerId: randomInt(100_000_000, 2_000_000_000),
    botToken: `${randomInt(1_000_000_000, 9_000_000_000)}:${randomBytes(27).toString('base64url')}`,
    gatewayToken: randomBytes(32).toString('hex'),
  }
}

const msSince = (t0: number) => Math.round(performance.now() - t0)

/** One boot of the image as the VM of `client`: seed, qemu, SSH up. The caller stops it. */
async function bootAs(opts: BootTestOptions, client: Client, n: number, tg: TelegramStandin, proxy: AvotsProxy, key: { privateKey: string; publicKey: string }, forbidden: HostForbiddenStandin, stateDisk: string, image: string, onPanic: (p: GuestPanic, serialLog: string) => void, previous = false): Promise<{ vm: ClientVm; ssh: Ssh; instanceId: string; sshMs: number; t0: number; watch: { stop(): void } }> {
  const log = opts.log ?? (() => {})
  const instanceId = `clawbake-boot-${randomBytes(6).toString('hex')}`
  let userData = await buildUserData(opts.root, {
    owner: String(client.ownerId),
    avotsApiKey: opts.avotsApiKey,
    telegramBotToken: client.botToken,
    gatewayToken: client.gatewayToken,
    avotsBaseUrl: asSeenByGuest(proxy.baseUrl),
    telegramApiRoot: asSeenByGuest(tg.apiRoot),
  })
  if (opts.editUserData) userData = opts.editUserData(userData)
  const dir = join(opts.dir, `boot-${n}`)
  const t0 = performance.now()
  const vm = await bootClientVm({
    image, dir, accelerator: opts.accelerator, clock: opts.clock?.clock ?? 'real', userData, instanceId, hostname: `client-${n}`,
    sshPublicKey: key.publicKey, stateDisk, guestfwd: [{ addr: FORBIDDEN_ADDR, port: 80, hostPort: forbidden.port }],
    ...(opts.signal ? { signal: opts.signal } : {}),
  })
  log(`boot ${n}: ${previous ? `the previous image ${opts.previous?.what ?? image}, ` : ''}qemu pid ${vm.qemu.pid}, SSH on 127.0.0.1:${vm.sshPort}, serial ${vm.serialLog}, state disk ${stateDisk}`)
  // a kernel panic leaves qemu and its SSH forward up: every wait on this VM would run to its timeout
  const watch = watchSerial(vm.serialLog, p => onPanic(p, vm.serialLog))
  try {
    return { ...(await sshUp(opts, n, vm, key, image, t0, join(dir, 'known_hosts'))), vm, instanceId, t0, watch }
  } catch (e) {
    // the caller never gets this VM: stop it here
    watch.stop()
    await vm.stop().catch(() => {})
    throw e
  }
}

/** Waits for SSH to answer as the image's default user. */
async function sshUp(opts: BootTestOptions, n: number, vm: ClientVm, key: { privateKey: string; publicKey: string }, image: string, t0: number, knownHosts: string): Promise<{ ssh: Ssh; sshMs: number }> {
  const log = opts.log ?? (() => {})
  const until = Date.now() + (opts.timeouts?.sshMs ?? 600_000)
  const users = opts.sshUsers ?? ['debian', 'ubuntu']
  log(`boot ${n}: waiting for SSH (up to ${Math.round((opts.timeouts?.sshMs ?? 600_000) / 1000)} s)`)
  for (;;) {
    if (opts.signal?.aborted) throw new ClawbakeError('interrupted while the VM booted', { rule: 'boot-test.interrupted' }, 2)
    if (!vm.running()) {
      throw new ClawbakeError(`the VM exited before SSH answered (qemu: ${vm.qemu.output().trim().slice(-500) || 'no output'}); serial console (${vm.serialLog}): ${vm.serialTail()}`, { file: image, rule: 'boot-test.vm-exited' }, 1)
    }
    for (const user of users) {
      const ssh = sshTo({ port: vm.sshPort, user, key, knownHosts, ...(opts.masker ? { masker: opts.masker } : {}) })
      const r = await ssh.exec('true', { timeoutMs: 60_000 })
      if (r.code === 0) {
        const sshMs = msSince(t0)
        log(`boot ${n}: SSH as ${user} after ${(sshMs / 1000).toFixed(1)} s`)
        return { ssh, sshMs }
      }
    }
    if (Date.now() > until) {
      throw new ClawbakeError(`SSH did not answer within ${Math.round((opts.timeouts?.sshMs ?? 600_000) / 1000)} s as ${users.join(' or ')} (${clockSaid(opts)}); serial console (${vm.serialLog}): ${vm.serialTail()}`, { file: image, rule: 'boot-test.ssh-timeout' }, 1)
    }
    await sleep(3000)
  }
}

export async function runBootTest(opts: BootTestOptions): Promise<BootTestReport> {
  const log = opts.log ?? (() => {})
  const wall0 = performance.now()
  const results = new Map<BootCheck, GateResult>()
  const timings: { stage: string; ms: number }[] = []
  // once a guest kernel panicked the report is settled: what the stopped VMs make fail afterwards is not news
  let settled = false
  let current: BootCheck | null = null
  const record = (id: BootCheck, v: Verdict, ms: number) => {
    if (settled) return
    results.set(id, { id, ok: v.ok, detail: v.detail, ms })
    log(`${v.ok ? 'ok  ' : 'FAIL'} ${id} (${(ms / 1000).toFixed(1)} s): ${v.detail}`)
  }
  const check = async (id: BootCheck, body: () => Promise<Verdict>) => {
    log(`...  ${id}: running`)
    const t = performance.now()
    current = id
    let v: Verdict
    try {
      v = await body()
    } catch (e) {
      v = { ok: false, detail: `the check failed to run: ${(e as Error).message}` }
    }
    current = null
    record(id, v, msSince(t))
    return v
  }
  const turnMs = opts.timeouts?.turnMs ?? 150_000
  // how long a clean power-off from inside may take before qemu is stopped
  const powerOffMs = 300_000 * (opts.timeScale ?? 1) / 4
  const readyMs = opts.timeouts?.readyMs ?? 240_000
  const cloudInitMs = opts.timeouts?.cloudInitMs ?? 900_000
  mkdirSync(opts.dir, { recursive: true, mode: 0o700 })
  const key = await newSshKey(opts.dir, 'clawbake-boot-test')
  let identity: MachineIdentity | null = null
  const stops: (() => Promise<unknown>)[] = []
  const stopAll = async () => { for (const s of stops.splice(0).reverse()) await s().catch(() => {}) }
  // the host no client may reach: its own guest address, and another port of an allowed one
  const forbidden = await startForbiddenStandin()
  let version = opts.openclawVersion

  /** One client's VM up to a ready gateway; false (and the failures recorded) when it never got there. */
  let previousVersion: string | null = null
  const bringUp = async (n: number, client: Client, checks: boolean, stateDisk: string, from?: { updateId: number; messageId: number }, previous = false) => {
    // the previous image may be the very same file (a same-release rehearsal): which one is meant is said, not guessed from the path
    const image = previous && opts.previous ? opts.previous.image : opts.image
    const tg = await startTelegramStandin({ token: client.botToken, ...(from ? { firstUpdateId: from.updateId, firstMessageId: from.messageId } : {}) })
    stops.push(() => tg.close())
    const proxy = await startAvotsProxy(opts.avotsUpstream)
    stops.push(() => proxy.close())
    opts.masker?.add?.(client.botToken)
    opts.masker?.add?.(client.gatewayToken)
    if (settled) throw new Error('the boot test has stopped')
    const b = await bootAs({ ...opts, signal: vmSignal }, client, n, tg, proxy, key, forbidden, stateDisk, image, (p, serialLog) => panicOf(n, serialLog, p), previous)
    stops.push(() => b.vm.stop())
    stops.push(async () => b.watch.stop())
    timings.push({ stage: `boot ${n}: boot to SSH`, ms: b.sshMs })
    log(`boot ${n}: waiting for cloud-init and first boot (up to ${Math.round(cloudInitMs / 1000)} s)`)
    const ci = await cloudInitDone(b.ssh, cloudInitMs)
    timings.push({ stage: `boot ${n}: first boot done`, ms: msSince(b.t0) })
    if (!ci.ok) {
      const evidence = await firstBootEvidence(b.ssh).catch(e => `no evidence: ${(e as Error).message}`)
      return { ok: false as const, why: `${ci.detail}; ${evidence}; serial console (${b.vm.serialLog}): ${b.vm.serialTail(8)}`, b, tg, proxy }
    }
    if (checks) record('cloud-init', ci, 0)
    if (checks) await check('no-build-leftovers', () => noBuildLeftovers(b.ssh, b.instanceId))
    const carried = async () => tagOfRef((await shippedPin(b.ssh)) ?? '') || null
    if (!previous) version ??= await carried()
    else previousVersion ??= await carried()
    const oc = await sshOpenclaw(b.ssh, { version: (previous ? previousVersion : version) ?? 'unknown', timeScale: opts.timeScale ?? 1 })
    stops.push(() => oc.gateway.stop())
    log(`boot ${n}: waiting for the gateway to answer and poll the Bot API (up to ${Math.round(readyMs / 1000)} s)`)
    const ready = await waitReady(oc.host, oc.gateway, tg, readyMs).then(() => null, async (e: Error) => `${e.message}; ${await oc.gateway.evidence?.().catch(x => `no evidence: ${(x as Error).message}`)}`)
    timings.push({ stage: `boot ${n}: gateway ready`, ms: msSince(b.t0) })
    if (ready) return { ok: false as const, why: `gateway not ready (${clockSaid(opts)}): ${ready}`, b, tg, proxy, oc }
    log(`boot ${n}: gateway ready ${((msSince(b.t0) - b.sshMs) / 1000).toFixed(1)} s after SSH`)
    return { ok: true as const, b, tg, proxy, oc }
  }

  type Up = Extract<Awaited<ReturnType<typeof bringUp>>, { ok: true }>
  /**
   * rollback: on the upgraded VM `on`, what docs/oncall.md tells an operator (stack stopped, `state-disk.sh
   * rollback`, power off), then the previous image (`previous`; else this one) booted with the disk as the same client.
   */
  const rollbackAndBoot = async (r: { n: number; client: Client; disk: string; on: Up; upgradeOk: boolean; turnNonce: string; before: StateEvidence; proof: { path: string; value: string }; previous: boolean; release: string | null }) => {
    const t = performance.now()
    if (!r.upgradeOk) {
      record('rollback', { ok: false, detail: 'not tried: the upgrade it would undo failed' }, 0)
      return
    }
    const discarded = (await turnProof(r.on.oc.host, r.turnNonce))?.value ?? ''
    let said: string
    try {
      said = await rollBack(r.on.b.vm, r.on.b.ssh, powerOffMs, log)
    } catch (e) {
      record('rollback', { ok: false, detail: `the rollback on the upgraded VM failed: ${(e as Error).message}` }, msSince(t))
      return
    }
    const seq = r.on.tg.sequence()
    await stopAll()
    const back = await bringUp(r.n, r.client, false, r.disk, seq, r.previous)
    if (!back.ok) {
      record('rollback', { ok: false, detail: `${r.previous ? 'the previous image' : 'the image'} on the rolled-back state disk did not come up (${said}): ${back.why}` }, msSince(t))
      return
    }
    const release = r.previous ? previousVersion : r.release
    await check('rollback', async () => {
      const v = await rollbackVerdict({ ssh: back.b.ssh, host: back.oc.host, tg: back.tg, proxy: back.proxy, ownerId: r.client.ownerId, release, restored: r.before, proof: r.proof, discarded, nonce: randomBytes(8).toString('hex'), turnMs })
      return { ok: v.ok, detail: `${said}; ${r.previous ? `the previous image (${opts.previous?.what ?? 'unknown'})` : 'this image'} again: ${v.detail}` }
    })
  }

  /** The check a panic of boot `n` fails: the one running, else the one that boot is for. */
  const blame = (n: number): BootCheck => current ?? (n === 1 ? (results.has('cloud-init') ? 'stack' : 'cloud-init') : BOOT_OF[n] ?? 'cloud-init')
  // a panic stops every VM of the test (and any a still-running step would start), as Ctrl-C does
  const halt = new AbortController()
  const vmSignal = opts.signal ? AbortSignal.any([opts.signal, halt.signal]) : halt.signal
  let onPanic: ((e: Error) => void) | undefined
  const panicked = new Promise<never>((_, reject) => { onPanic = reject })
  panicked.catch(() => {})
  const panicOf = (n: number, serialLog: string, p: GuestPanic) => {
    if (settled) return
    const id = blame(n)
    record(id, { ok: false, detail: `boot ${n}: the guest kernel panicked (${p.reason}); serial console (${serialLog}): ${p.evidence}` }, 0)
    settled = true
    halt.abort()
    onPanic?.(new Error(`boot ${n}: guest kernel panic`))
  }

  // the owner's whole turn on the first boot: how long each stranger is watched
  let ownerTurnMs: number | null = null
  // Ctrl-C / SIGTERM: the VMs are stopped by PID (finally, below) at once, whatever step was waiting on them
  let onAbort: (() => void) | undefined
  const interrupted = new Promise<never>((_, reject) => {
    onAbort = () => reject(new ClawbakeError('the boot test was interrupted; its VMs were stopped', { rule: 'boot-test.interrupted' }, 2))
    if (opts.signal?.aborted) onAbort()
    else opts.signal?.addEventListener('abort', onAbort, { once: true })
  })
  interrupted.catch(() => {})
  try {
    await Promise.race([interrupted, panicked.catch(() => { /* recorded: the report says which check and why */ }), (async () => {
      // ---- first boot: the whole proof
      const first = newClient()
      // the first client's own disk: blank now, carried to the upgrade boot
      const firstDisk = await blankStateDisk(join(opts.dir, 'state-1.qcow2'))
      const up = await bringUp(1, first, true, firstDisk)
      // what the upgrade must keep: the state's files and secrets, the owner's proof file
      let kept: StateEvidence | null = null
      let proof: { path: string; value: string } | null = null
      // the bot's update and message ids: the kept state confirmed and dispatched those up to here
      let sequence: { updateId: number; messageId: number } | undefined
      if (!up.ok) {
        if (!results.has('cloud-init')) record('cloud-init', { ok: false, detail: up.why }, 0)
        else record('stack', { ok: false, detail: up.why }, 0)
      } else {
        const { b, tg, proxy, oc } = up
        await check('stack', () => stackFromImage(b.ssh, opts.pinnedRef))
        const nonce = randomBytes(8).toString('hex')
        await check('owner-exec', async () => {
          const r = await ownerExec({ host: oc.host, tg, proxy, ownerId: first.ownerId, nonce, timeoutMs: turnMs })
          ownerTurnMs = r.turnMs
          if (r.ok) proof = await turnProof(oc.host, nonce)
          return r
        })
        let strangerId = randomInt(100_000_000, 2_000_000_000)
        if (strangerId === first.ownerId) strangerId++
        const windowMs = strangerWindowMs(ownerTurnMs, opts.timeScale ?? 1)
        await check('stranger-refused', () => strangerRefused({ host: oc.host, tg, proxy, strangerId, nonce: `${nonce}s`, windowMs, timeoutMs: 60_000 * (opts.timeScale ?? 1), gatewayOutput: () => oc.gateway.output() }))
        await check('admin-tunnel', () => adminTunnel(oc.host, { gatewayToken: first.gatewayToken, composeGateway: '172.31.240.1', vm: oc.vm }))
        await check('client-secrets', () => clientSecrets(b.ssh, [
          { name: 'the avots API key', value: opts.avotsApiKey },
          { name: 'the bot token', value: first.botToken },
          { name: 'the gateway token', value: first.gatewayToken },
        ]))
        await check('fresh-identity', async () => {
          identity = await machineIdentity(b.ssh)
          const seen = readFileSync(b.ssh.knownHosts, 'utf8')
          const fp = await fingerprintsOf(seen, opts.dir)
          return freshIdentity(identity, opts.buildIdentity, fp)
        })
        await check('state-disk', () => stateOnDisk(b.ssh, first.ownerId, version))
        await check('egress', () => egressGate({
          shell: sshShell(b.ssh), tg, apiRoot: asSeenByGuest(tg.apiRoot), proxy, forbidden, ownerId: first.ownerId, nonce: `${nonce}e`, turnMs, restartMs: 300_000 * (opts.timeScale ?? 1),
          reboot: () => rebootVm(b.ssh, opts.timeouts?.sshMs ?? 600_000, log),
        }))
        if (opts.upgrade !== false) {
          // as an operator moves a client to a new image: the VM shut down cleanly, its disk kept
          kept = await stateEvidence(b.ssh).catch(() => null)
          sequence = tg.sequence()
          await poweroffVm(b.vm, b.ssh, powerOffMs, log).catch(e => log(`power-off: ${(e as Error).message}; stopping qemu`))
        }
      }
      await stopAll()

      // ---- a new root of the same image with the first client's state disk, as that client
      if (opts.upgrade !== false && up.ok) {
        const t = performance.now()
        if (!kept || !proof) {
          record('upgrade', { ok: false, detail: `nothing to upgrade from: ${!kept ? 'the state of the first boot could not be read' : 'the owner\'s turn on the first boot made no proof file'}` }, 0)
        } else {
          const up3 = await bringUp(2, first, false, firstDisk, sequence)
          if (!up3.ok) {
            record('upgrade', { ok: false, detail: `the new root with owner ${first.ownerId}'s state disk did not come up: ${up3.why}` }, msSince(t))
          } else {
            const before = kept
            const earlier = proof
            const turnNonce = randomBytes(8).toString('hex')
            const v = await check('upgrade', () => upgradeVerdict({ ssh: up3.b.ssh, host: up3.oc.host, tg: up3.tg, proxy: up3.proxy, ownerId: first.ownerId, before, proof: earlier, nonce: turnNonce, turnMs }))
            // without a previous image, the rollback goes back onto this one
            if (!opts.previous) {
              await rollbackAndBoot({ n: 3, client: first, disk: firstDisk, on: up3, upgradeOk: v.ok, turnNonce, before, proof: earlier, previous: false, release: version })
            }
          }
        }
        await stopAll()
      }

      // ---- from the image clients run today: a client made on it, moved onto this image, and back
      if (opts.previous && opts.upgrade !== false && up.ok) {
        const prev = opts.previous
        const client = newClient()
        const disk = await blankStateDisk(join(opts.dir, 'state-previous.qcow2'))
        const t = performance.now()
        const p1 = await bringUp(5, client, false, disk, undefined, true)
        let made: { kept: StateEvidence; proof: { path: string; value: string }; sequence: { updateId: number; messageId: number } } | null = null
        if (!p1.ok) {
          record('upgrade-from-previous', { ok: false, detail: `the previous image (${prev.what}) did not come up as owner ${client.ownerId}'s VM: ${p1.why}` }, msSince(t))
        } else {
          const nonce = randomBytes(8).toString('hex')
          const r = await ownerExec({ host: p1.oc.host, tg: p1.tg, proxy: p1.proxy, ownerId: client.ownerId, nonce, timeoutMs: turnMs })
          const madeProof = r.ok ? await turnProof(p1.oc.host, nonce) : null
          const keptPrev = await stateEvidence(p1.b.ssh).catch(() => null)
          if (!madeProof || !keptPrev) {
            record('upgrade-from-previous', { ok: false, detail: `the owner's turn on the previous image (${prev.what}, OpenClaw ${previousVersion ?? 'unknown'}) made no state to upgrade: ${r.detail}` }, msSince(t))
          } else {
            made = { kept: keptPrev, proof: madeProof, sequence: p1.tg.sequence() }
            log(`boot 5: the owner's turn on OpenClaw ${previousVersion ?? 'unknown'} made ${madeProof.value}; powering off to move the disk onto this image`)
            await poweroffVm(p1.b.vm, p1.b.ssh, powerOffMs, log).catch(e => log(`power-off: ${(e as Error).message}; stopping qemu`))
          }
        }
        await stopAll()
        if (made) {
          const m = made
          const p2 = await bringUp(6, client, false, disk, m.sequence)
          if (!p2.ok) {
            record('upgrade-from-previous', { ok: false, detail: `this image with the state of ${prev.what} (OpenClaw ${previousVersion ?? 'unknown'}) did not come up: ${p2.why}` }, msSince(t))
          } else {
            const turnNonce = randomBytes(8).toString('hex')
            const v = await upgradeVerdict({ ssh: p2.b.ssh, host: p2.oc.host, tg: p2.tg, proxy: p2.proxy, ownerId: client.ownerId, before: m.kept, proof: m.proof, nonce: turnNonce, turnMs }).catch((e: Error) => ({ ok: false, detail: `the check failed to run: ${e.message}` }))
            record('upgrade-from-previous', { ok: v.ok, detail: `from ${prev.what} (OpenClaw ${previousVersion ?? 'unknown'} -> ${version ?? 'unknown'}): ${v.detail}` }, msSince(t))
            await rollbackAndBoot({ n: 7, client, disk, on: p2, upgradeOk: v.ok, turnNonce, before: m.kept, proof: m.proof, previous: true, release: previousVersion })
          }
          await stopAll()
        }
      }

      // ---- second boot of the same image: another client; nothing of the first survives
      if (opts.secondBoot !== false && up.ok) {
        const second = newClient()
        const t = performance.now()
        const up2 = await bringUp(4, second, false, await blankStateDisk(join(opts.dir, 'state-4.qcow2')))
        if (!up2.ok) {
          record('second-boot', { ok: false, detail: `the second boot (owner ${second.ownerId}) did not come up: ${up2.why}` }, msSince(t))
        } else {
          const v = await strangerRefused({ host: up2.oc.host, tg: up2.tg, proxy: up2.proxy, strangerId: first.ownerId, nonce: randomBytes(8).toString('hex'), windowMs: strangerWindowMs(ownerTurnMs, opts.timeScale ?? 1), timeoutMs: 60_000 * (opts.timeScale ?? 1), gatewayOutput: () => up2.oc.gateway.output() })
          record('second-boot', { ok: v.ok, detail: `owner ${second.ownerId}'s VM, the first owner ${first.ownerId} DMs it: ${v.detail}` }, msSince(t))
        }
        await stopAll()
      }
    })()])
  } finally {
    if (onAbort) opts.signal?.removeEventListener('abort', onAbort)
    await stopAll()
    await forbidden.close()
  }
  const wanted = bootChecksFor(opts)
  const gates = wanted.map(id => results.get(id) ?? { id, ok: false, detail: 'did not run (an earlier step failed)', ms: 0 })
  const report: BootTestReport = {
    ok: gates.every(g => g.ok), openclawVersion: version ?? 'unknown', mode: 'boot', gates, image: opts.image,
    accelerator: opts.accelerator, timings, wallMs: msSince(wall0), identity, dir: opts.dir,
  }
  writeFileSync(join(opts.dir, 'boot-test-report.json'), JSON.stringify(report, null, 2) + '\n')
  return report
}

/** SHA256 fingerprints of the host keys in a known_hosts file. */
async function fingerprintsOf(knownHosts: string, dir: string): Promise<string[]> {
  const file = join(dir, 'seen_host_keys')
  writeFileSync(file, knownHosts)
  const r = await run('ssh-keygen', ['-lf', file])
  return r.stdout.trim().split('\n').map(l => l.split(/\s+/)[1] ?? '').filter(Boolean)
}

/**
 * Timeouts for a boot test under this accelerator (TCG: an emulated CPU, many times slower), in host time:
 * under the instruction clock each is multiplied by its measured wall-time ratio.
 */
export function bootTimeouts(accel: Accelerator, clock?: ClockChoice): { timeouts: NonNullable<BootTestOptions['timeouts']>; timeScale: number } {
  const r = accel === 'tcg' ? (clock?.ratio ?? 1) : 1
  const x = (ms: number) => Math.round(ms * r)
  return accel === 'tcg'
    ? { timeouts: { sshMs: x(900_000), cloudInitMs: x(1_200_000), readyMs: x(900_000), turnMs: x(600_000) }, timeScale: 4 * r }
    : { timeouts: { sshMs: 300_000, cloudInitMs: 600_000, readyMs: 240_000, turnMs: 150_000 }, timeScale: 1 }
}

/** The check each boot after the first is for (boot 1 has many: the one running, else cloud-init or stack). */
const BOOT_OF: Record<number, BootCheck> = { 2: 'upgrade', 3: 'rollback', 4: 'second-boot', 5: 'upgrade-from-previous', 6: 'upgrade-from-previous', 7: 'rollback' }


/** Which clock and host-time ratio the waits used, for a failure's words. */
function clockSaid(opts: Pick<BootTestOptions, 'accelerator' | 'clock'>): string {
  if (opts.accelerator !== 'tcg') return `${opts.accelerator}, the host's clock`
  const c = opts.clock ?? { clock: 'real', ratio: 1 }
  return `tcg, ${c.clock === 'instructions' ? 'the instruction clock' : 'real-time clock'}, host-side waits x${c.ratio}`
}

/** The one-line verdict of a failed boot test: the checks that failed, first words of each. */
export function failedChecks(report: BootTestReport): string {
  return report.gates.filter(g => !g.ok).map(g => `${g.id} (${g.detail.slice(0, 300)})`).join('; ')
}

/** Reboot a client's VM and wait until SSH answers from the new boot (a new boot_id). */
async function rebootVm(ssh: Ssh, timeoutMs: number, log: (l: string) => void): Promise<void> {
  const bootId = async () => (await ssh.exec('cat /proc/sys/kernel/random/boot_id', { timeoutMs: 30_000 }).catch(() => null))?.stdout.trim() ?? ''
  const before = await bootId()
  log(`rebooting the VM (boot ${before.slice(0, 8)}...), waiting for SSH (up to ${Math.round(timeoutMs / 1000)} s)`)
  await ssh.exec('systemctl reboot', { sudo: true, timeoutMs: 30_000 }).catch(() => null)
  const until = Date.now() + timeoutMs
  for (;;) {
    await sleep(5000)
    const now = await bootId()
    if (now && now !== before) {
      log(`the VM is back (boot ${now.slice(0, 8)}...)`)
      return
    }
    if (Date.now() > until) throw new Error(`the VM did not answer SSH within ${Math.round(timeoutMs / 1000)} s of its reboot`)
  }
}
