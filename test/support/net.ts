// Loopback-only networking helpers for tests: every server a test starts
// listens on 127.0.0.1 on a free port and is stopped by the test.
import { createServer, type AddressInfo } from 'node:net'

/** A free TCP port on 127.0.0.1 (for programs that need a port number up front). */
export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const s = createServer()
    s.unref()
    s.on('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo
      s.close(() => resolve(port))
    })
  })
}

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
