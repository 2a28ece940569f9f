// egress in the build VM: the gate of egress.ts on the VM itself (the suite
// runs there as root). The forbidden stand-in listens on an address of its
// own, 192.0.2.1 (TEST-NET-1, never routed) on a dummy link made for the gate
// and removed after it, and on another port of the allowed compose-bridge
// address, where the gate run's Bot API and avots stand-ins listen.
import type { TelegramStandin } from '../standins/telegram.ts'
import { run, runOk } from '../proc/run.ts'
import type { AvotsProxy } from './avots-proxy.ts'
import { egressGate, listenCounting, type Shell } from './egress.ts'
import type { Verdict } from './gate.ts'

const LINK = 'clawbake-fbd0'
export const FORBIDDEN_VM_ADDR = '192.0.2.1'

/** A root shell on this machine. */
export const localShell: Shell = {
  async sh(command, timeoutMs = 120_000) {
    const r = await run('bash', ['-c', command], { timeoutMs })
    return { out: r.stdout + r.stderr, code: r.code }
  },
}

export async function vmEgress(opts: {
  tg: TelegramStandin
  proxy: AvotsProxy
  ownerId: number
  nonce: string
  turnMs: number
  timeScale: number
  /** the compose bridge's address (an allowed host: the stand-ins listen there) */
  bridge: string
}): Promise<Verdict> {
  await run('ip', ['link', 'del', LINK])
  await runOk('ip', ['link', 'add', LINK, 'type', 'dummy'], { rule: 'gates.egress' })
  try {
    await runOk('ip', ['addr', 'add', `${FORBIDDEN_VM_ADDR}/32`, 'dev', LINK], { rule: 'gates.egress' })
    await runOk('ip', ['link', 'set', LINK, 'up'], { rule: 'gates.egress' })
    const l = await listenCounting([{ host: FORBIDDEN_VM_ADDR, port: 80 }, { host: opts.bridge, port: 0 }])
    try {
      return await egressGate({
        shell: localShell, tg: opts.tg, proxy: opts.proxy, ownerId: opts.ownerId, nonce: opts.nonce, turnMs: opts.turnMs,
        restartMs: 300_000 * opts.timeScale, restarts: true,
        forbidden: {
          targets: [
            { host: FORBIDDEN_VM_ADDR, port: 80, what: 'a host of its own, by raw IP' },
            { host: opts.bridge, port: l.ports[1] as number, what: 'another port of an allowed address' },
          ],
          connections: l.connections,
          close: l.close,
        },
      })
    } finally {
      await l.close()
    }
  } finally {
    await run('ip', ['link', 'del', LINK])
  }
}
