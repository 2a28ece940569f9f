// loopback-only: every socket OpenClaw's processes listen on (TCP) or have
// bound (UDP) is on 127.0.0.0/8 or ::1. At least the gateway's own port must
// be seen, or the check proved nothing.
import type { OpenclawHost } from './host.ts'
import { fail, pass, type Verdict } from './gate.ts'
import { isLoopback } from './listeners.ts'

export async function loopbackOnly(host: OpenclawHost): Promise<Verdict> {
  const sockets = await host.listeners()
  if (!sockets.length) return fail('no listening socket of OpenClaw found (gateway not running?): nothing proven')
  const fmt = (s: { proto: string; address: string; port: number; pid: number }) => `${s.proto} ${s.address.includes(':') ? `[${s.address}]` : s.address}:${s.port} (pid ${s.pid})`
  const exposed = sockets.filter(s => !isLoopback(s.address))
  if (exposed.length) return fail(`listening beyond loopback: ${exposed.map(fmt).join(', ')}`)
  const gatewayPort = Number(new URL(host.gatewayUrl).port)
  if (host.mode === 'local' && !sockets.some(s => s.port === gatewayPort && s.proto.startsWith('tcp'))) return fail(`gateway port ${gatewayPort} not among OpenClaw's sockets: ${sockets.map(fmt).join(', ')}`)
  const unique = [...new Set(sockets.map(fmt))]
  return pass(`${unique.length} socket(s), all loopback: ${unique.join(', ')}`)
}
