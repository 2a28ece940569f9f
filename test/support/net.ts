// Loopback-only networking helpers for tests: every server a test starts
// listens on 127.0.0.1 on a free port and is stopped by the test.

/** A free TCP port on 127.0.0.1 (for programs that need a port number up front). */
export { freeLoopbackPort as freePort } from '../../src/loopback.ts'

/** Poll `probe` until it resolves truthy or `ms` pass. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, ms = 15000, every = 100): Promise<T> {
  const until = Date.now() + ms
  let last: unknown
  for (;;) {
    try {
      const v = await probe()
      if (v) return v
    } catch (e) {
      last = e
    }
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`)
    await new Promise(r => setTimeout(r, every))
  }
}
