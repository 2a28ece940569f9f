// admin-tunnel: the operator's way in works, and is the only one. From where
// the gates run (the VM host), 127.0.0.1:18789 answers /healthz, a gateway
// call without the token is refused while the same call with it is not, and
// in the VM no socket beyond loopback is open but the admin's sshd, the
// sandbox's socket on the compose network, DHCP and this gate run's own
// stand-ins; every port Docker publishes is on 127.0.0.1.
import { run } from '../proc/run.ts'
import type { OpenclawHost } from './host.ts'
import { fail, pass, type Verdict } from './gate.ts'
import { isLoopback } from './listeners.ts'
import { fetch } from '../http/request.ts'

export interface HostSocket {
  proto: string
  address: string
  port: number
  process: string
  pid: number | null
}

/** `ss -Hltun -p`: every listening TCP socket and bound UDP socket of this machine (this network namespace). */
export async function hostSockets(): Promise<HostSocket[]> {
  const r = await run('ss', SS_ARGS)
  if (r.code !== 0) throw new Error(`ss failed: ${r.stderr.trim()}`)
  return parseSs(r.stdout)
}

export const SS_ARGS = ['-H', '-l', '-t', '-u', '-n', '-p']

/** `ss -H -l -t -u -n -p` output, a socket a line. */
export function parseSs(stdout: string): HostSocket[] {
  const out: HostSocket[] = []
  for (const line of stdout.split('\n')) {
    const f = line.trim().split(/\s+/)
    if (f.length < 5) continue
    const local = f[4] as string
    const i = local.lastIndexOf(':')
    const address = local.slice(0, i).replace(/^\[|\]$/g, '').replace(/%.*$/, '')
    const m = /users:\(\("([^"]+)",pid=(\d+)/.exec(line)
    out.push({ proto: f[0] as string, address, port: Number(local.slice(i + 1)), process: m?.[1] ?? '?', pid: m ? Number(m[2]) : null })
  }
  return out
}

/** What the admin-tunnel gate reads of the VM: where the gates run on it, this machine; from outside, over SSH. */
export interface VmView {
  /** every listening TCP and bound UDP socket of the VM */
  sockets(): Promise<HostSocket[]>
  /** `docker ps --format '{{.Names}} {{.Ports}}'`, a container a line */
  published(): Promise<string[]>
  /** the gate run's own pid on the VM (its stand-ins may listen beyond loopback), or null */
  ownPid: number | null
  /** the gateway's port on the VM (through a tunnel the gateway URL names the tunnel's host end instead) */
  gatewayPort?: number
}

export const localVm: VmView = {
  sockets: hostSockets,
  async published() {
    return (await run('docker', ['ps', '--format', '{{.Names}} {{.Ports}}'])).stdout.split('\n').filter(Boolean)
  },
  ownPid: process.pid,
}

/** Why a socket beyond loopback is allowed on the VM, or null. */
export function allowedExposure(s: HostSocket, ctx: { composeGateway: string; ownPid: number | null }): string | null {
  if (ctx.ownPid !== null && s.pid === ctx.ownPid) return 'this gate run'
  if (s.proto === 'tcp' && s.port === 22 && s.process === 'sshd') return 'admin sshd'
  if (s.proto === 'tcp' && s.port === 2222 && s.address === ctx.composeGateway && s.process === 'systemd') return 'sandbox socket (compose network only)'
  if (s.proto === 'udp' && s.port === 68 && s.process === 'systemd-network') return 'DHCP client'
  if ((s.proto === 'udp' || s.proto === 'tcp') && s.port === 53 && s.address === ctx.composeGateway && s.process === 'dnsmasq') return 'the agent\'s resolver (egress allowlist, compose network only)'
  return null
}

export async function adminTunnel(host: OpenclawHost, opts: { gatewayToken: string; composeGateway?: string; vm?: VmView }): Promise<Verdict> {
  const url = new URL(host.gatewayUrl)
  if (!isLoopback(url.hostname)) return fail(`the gateway is reached at ${host.gatewayUrl}, not on loopback`)
  const facts: string[] = []
  try {
    const h = await fetch(`${host.gatewayUrl}/healthz`, { signal: AbortSignal.timeout(15_000) })
    const body = await h.text()
    if (!h.ok || !/"ok"\s*:\s*true/.test(body)) return fail(`GET ${host.gatewayUrl}/healthz answered ${h.status} ${body.slice(0, 120)}`)
    facts.push(`${url.host}/healthz ok`)
  } catch (e) {
    return fail(`GET ${host.gatewayUrl}/healthz failed: ${(e as Error).message}`)
  }
  const invoke = async (token: string | null) => {
    const res = await fetch(`${host.gatewayUrl}/tools/invoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ tool: 'clawbake_admin_tunnel_probe', args: {} }),
      signal: AbortSignal.timeout(30_000),
    })
    await res.arrayBuffer()
    return res.status
  }
  const without = await invoke(null)
  if (without !== 401 && without !== 403) return fail(`POST /tools/invoke without the gateway token answered ${without}, not 401/403`)
  const withToken = await invoke(opts.gatewayToken)
  if (withToken === 401 || withToken === 403) return fail(`POST /tools/invoke WITH the gateway token was refused too (${withToken}): the refusal proves nothing`)
  facts.push(`/tools/invoke without token ${without}, with token ${withToken}`)

  if (host.mode === 'vm') {
    const vm = opts.vm ?? localVm
    const ctx = { composeGateway: opts.composeGateway ?? '', ownPid: vm.ownPid }
    const sockets = await vm.sockets()
    const fmt = (s: HostSocket) => `${s.proto} ${s.address.includes(':') ? `[${s.address}]` : s.address}:${s.port} (${s.process})`
    const exposed = sockets.filter(s => !isLoopback(s.address) && !allowedExposure(s, ctx))
    if (exposed.length) return fail(`listening beyond loopback on the VM: ${exposed.map(fmt).join(', ')}; ${facts.join('; ')}`)
    const port = vm.gatewayPort ?? Number(url.port)
    const gw = sockets.filter(s => s.port === port)
    if (!gw.some(s => s.proto === 'tcp' && isLoopback(s.address))) return fail(`nothing listens on 127.0.0.1:${port} on the VM: ${sockets.map(fmt).join(', ')}`)
    const published = await vm.published()
    const wide = published.filter(l => /(^|[ ,])(0\.0\.0\.0|\[?::\]?):\d+->/.test(l) || /(?<![\d.])(?!127\.)\d+\.\d+\.\d+\.\d+:\d+->/.test(l.replace(/127\.0\.0\.1:\d+->/g, '')))
    if (wide.length) return fail(`Docker publishes beyond loopback: ${wide.join('; ')}`)
    const beyond = sockets.filter(s => !isLoopback(s.address)).map(s => `${fmt(s)}: ${allowedExposure(s, ctx)}`)
    facts.push(`VM sockets beyond loopback: ${beyond.join(', ') || 'none'}; Docker publishes only on 127.0.0.1 (${published.join('; ') || 'nothing'})`)
  }
  return pass(facts.join('; '))
}
