// Loopback: clawbake's servers and the programs it starts listen on 127.0.0.1 only,
// and plain http is spoken only to a loopback host (registry, GitHub API URL).
import { createServer, isIPv4, type AddressInfo } from 'node:net'

/** A free TCP port on 127.0.0.1, for a program that needs its port number up front. */
export async function freeLoopbackPort(): Promise<number> {
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

/** Is `host` (with or without `:port`) a loopback address? */
export function isLoopbackHost(host: string): boolean {
  const name = hostname(host).toLowerCase()
  if (name === 'localhost' || name === '::1' || name === '[::1]') return true
  return isIPv4(name) && name.split('.')[0] === '127'
}

function hostname(host: string): string {
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1)
  const i = host.lastIndexOf(':')
  return i >= 0 ? host.slice(0, i) : host
}
