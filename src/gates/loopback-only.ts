// loopback-only: every socket OpenClaw's processes listen on (TCP) or have
// bound (UDP) is on 127.0.0.0/8 or ::1 - in the VM, except the gateway's own
// port in its container's network namespace. At least the gateway's own port
// must be seen, or the check proved nothing.
import type { OpenclawHost } from './host.ts'
import { fail, pass, type Verdict } from './gate.ts'
import { isLoopback } from './listeners.ts'

export async function loopbackOnly(host: OpenclawHost): Promise<Verdict> {
  const sockets = await host.listeners()
  if (!sockets.length) return fail('no listening socket of OpenClaw found (gateway not running?): nothing proven')
  const fmt = (s: { proto: string; address: string; port: number; pid: number }) => `${s.proto} ${s.address.includes(':') ? `[${s.address}]` : s.address}:${s.port} (pid ${s.pid})`
  const gatewayPort = Number(new URL(host.gatewayUrl).port)
  // In the VM the gateway binds "lan" in its container's own network namespace, where only the compose
  // network reaches it; Docker publishes that port on the VM's 127.0.0.1 only (admin-tunnel proves it).
  const inContainer = (s: { proto: string; port: number }) => host.mode === 'vm' && s.port === gatewayPort && s.proto.startsWith('tcp')
  const exposed = sockets.filter(s => !isLoopback(s.address) && !inContainer(s))
  if (exposed.length) return fail(`listening beyond loopback: ${exposed.map(fmt).join(', ')}`)
  if (host.mode === 'local' && !sockets.some(s => s.port === gatewayPort && s.proto.startsWith('tcp'))) return fail(`gateway port ${gatewayPort} not among OpenClaw's sockets: ${sockets.map(fmt).join(', ')}`)
  if (host.mode === 'vm' && !sockets.some(inContainer)) return fail(`the gateway's port ${gatewayPort} is not among OpenClaw's sockets in its container: ${sockets.map(fmt).join(', ')}`)
  const unique = [...new Set(sockets.map(s => `${fmt(s)}${inContainer(s) ? ' [container namespace, published on 127.0.0.1 only]' : ''}`))]
  return pass(`${unique.length} socket(s), all loopback${host.mode === 'vm' ? ' or the gateway port in its own container namespace' : ''}: ${unique.join(', ')}`)
}
