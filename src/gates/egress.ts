// egress: the agent's VM reaches its allowed hosts (avots, the Bot API) and
// nothing else, proven three ways: as the sandbox user, from inside the
// gateway container, and through the agent itself (the owner asks OpenClaw to
// connect to the forbidden host: the command runs in the sandbox and is
// refused); in the build VM again after `systemctl restart docker` and
// `docker compose down && up`, on a client's VM after a reboot. A forbidden stand-in on an
// address of its own (and on another port of an allowed address) records
// every connection, and must record none. The allowlist's own nft counters
// must have counted refusals: the refusals come from its rules, not from
// something else in the way. DNS for a name outside the list is refused by
// the agent's resolver (Docker's embedded DNS hands dnsmasq's REFUSED to the
// container as SERVFAIL).
//
// The same gate runs in the build VM (the suite on the VM itself, a shell on
// it) and in the boot test (over SSH into a client's VM): a Shell is either.
import { createServer, type AddressInfo, type Server } from 'node:net'
import type { TelegramStandin } from '../standins/telegram.ts'
import type { AvotsProxy } from './avots-proxy.ts'
import { settleTurn, sleep, textOf } from './conversation.ts'
import { fail, pass, type Verdict } from './gate.ts'
import { OPENCLAW_ROOT } from './host-compose.ts'

/** The shipped compose project on the VM, as a command line. */
export const COMPOSE = `docker compose --project-directory ${OPENCLAW_ROOT} -f ${OPENCLAW_ROOT}/docker-compose.yml`

/** A root shell on the VM: the output (stdout and stderr) and exit code of one command line. */
export interface Shell {
  sh(command: string, timeoutMs?: number): Promise<{ out: string; code: number | null }>
}

export interface ForbiddenStandin {
  /** where the VM reaches it, each a target the allowlist must refuse */
  targets: { host: string; port: number; what: string }[]
  /** connections it accepted so far */
  connections(): number
  close(): Promise<void>
}

/** TCP servers that answer anything with one HTTP line and count who connected. */
export async function listenCounting(binds: { host: string; port: number }[]): Promise<{ ports: number[]; connections(): number; close(): Promise<void> }> {
  let n = 0
  const servers: Server[] = []
  const ports: number[] = []
  try {
    for (const b of binds) {
      const server = createServer(sock => {
        n++
        sock.on('error', () => {})
        sock.end('HTTP/1.0 200 OK\r\ncontent-type: text/plain\r\n\r\nclawbake forbidden stand-in: you should not be here\n')
      })
      await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(b.port, b.host, () => resolve()) })
      servers.push(server)
      ports.push((server.address() as AddressInfo).port)
    }
  } catch (e) {
    for (const s of servers) s.close()
    throw e
  }
  return {
    ports,
    connections: () => n,
    close: async () => { await Promise.all(servers.map(s => new Promise<void>(resolve => s.close(() => resolve())))) },
  }
}

interface Probe { what: string; ok: boolean; saw: string }

const REFUSED_IN_NODE = /^(ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|TIMEOUT|EACCES|EADDRNOTAVAIL)$/
const tcpAs = (host: string, port: number) => `timeout 8 bash -c 'exec 3<>/dev/tcp/${host}/${port}' 2>&1 && echo CONNECTED || echo REFUSED`
const nodeConnect = (host: string, port: number) =>
  `node -e "const s=require('net').connect(${port},'${host}');s.setTimeout(8000,()=>{console.log('TIMEOUT');process.exit(1)});s.on('connect',()=>{console.log('CONNECTED');process.exit(0)});s.on('error',e=>{console.log(e.code);process.exit(1)})"`
const nodeResolve = (name: string) =>
  `node -e "require('dns').promises.resolve4('${name}').then(a=>console.log('RESOLVED',a.join(',')),e=>console.log(e.code))"`

/** The gateway container of the shipped project, or ''. */
export async function gatewayContainerOn(shell: Shell): Promise<string> {
  return (await shell.sh(`${COMPOSE} ps -a -q openclaw-gateway`)).out.trim().split('\n')[0] ?? ''
}

/** One round of probes: allowed reachable, every forbidden target refused, IPv6 refused, other names refused. */
async function probeRound(shell: Shell, allowed: { host: string; port: number }, forbidden: ForbiddenStandin, ipv6: string): Promise<Probe[]> {
  const out: Probe[] = []
  const last = async (cmd: string) => (await shell.sh(cmd, 90_000)).out.trim().split('\n').pop() ?? ''
  const gw = await gatewayContainerOn(shell)
  const asSandbox = (cmd: string) => last(`runuser -u sandbox -- ${cmd}`)
  const inGw = (cmd: string) => last(`docker exec ${gw} ${cmd}`)
  const expect = (what: string, saw: string, want: RegExp) => out.push({ what, ok: want.test(saw), saw })
  expect(`sandbox user -> allowed ${allowed.host}:${allowed.port}`, await asSandbox(tcpAs(allowed.host, allowed.port)), /^CONNECTED$/)
  for (const f of forbidden.targets) expect(`sandbox user -> ${f.host}:${f.port} (${f.what})`, await asSandbox(tcpAs(f.host, f.port)), /^REFUSED$/)
  expect('sandbox user -> gateway 127.0.0.1:18789', await asSandbox(tcpAs('127.0.0.1', 18789)), /^REFUSED$/)
  expect('sandbox user: DNS for clawbake-egress-probe.example.org', await asSandbox('getent hosts clawbake-egress-probe.example.org >/dev/null && echo RESOLVED || echo REFUSED'), /^REFUSED$/)
  if (!gw) {
    out.push({ what: 'gateway container', ok: false, saw: 'no openclaw-gateway container' })
    return out
  }
  expect(`gateway container -> allowed ${allowed.host}:${allowed.port}`, await inGw(nodeConnect(allowed.host, allowed.port)), /^CONNECTED$/)
  for (const f of forbidden.targets) expect(`gateway container -> ${f.host}:${f.port} (${f.what})`, await inGw(nodeConnect(f.host, f.port)), REFUSED_IN_NODE)
  expect(`gateway container -> IPv6 (${ipv6})`, await inGw(nodeConnect(ipv6, allowed.port)), REFUSED_IN_NODE)
  expect('gateway container: DNS for clawbake-egress-probe.example.org', await inGw(nodeResolve('clawbake-egress-probe.example.org')), /^E(REFUSED|SERVFAIL)$/)
  return out
}

async function gatewayRunning(shell: Shell, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs
  while (Date.now() < until) {
    const id = await gatewayContainerOn(shell)
    if (id && (await shell.sh(`docker inspect -f '{{.State.Running}}' ${id}`)).out.trim() === 'true') return true
    await sleep(2000)
  }
  return false
}

/** The named refusal counters of `nft list counters table inet clawbake_egress` (each block: a comment line, then packets/bytes). */
export function refusalCounts(listing: string): { name: string; packets: number }[] {
  return [...listing.matchAll(/counter (refused_\w+) \{[^}]*?\bpackets (\d+)/g)].map(m => ({ name: m[1] as string, packets: Number(m[2]) }))
}

export interface EgressGateOptions {
  shell: Shell
  tg: TelegramStandin
  /** the Bot API root as the agent's VM reaches it (the boot test: qemu's host address); default tg.apiRoot */
  apiRoot?: string
  proxy: AvotsProxy
  forbidden: ForbiddenStandin
  ownerId: number
  nonce: string
  turnMs: number
  restartMs: number
  /** an IPv6 address the VM could otherwise reach (qemu's host, fec0::2) */
  ipv6?: string
  /** prove the rules survive `systemctl restart docker` and `docker compose down && up` (the build VM) */
  restarts?: boolean
  /** a client's VM: reboot it and return when its shell answers again (the boot test) */
  reboot?: () => Promise<void>
}

export async function egressGate(opts: EgressGateOptions): Promise<Verdict> {
  const { shell, forbidden } = opts
  const api = new URL(opts.apiRoot ?? opts.tg.apiRoot)
  const allowed = { host: api.hostname, port: Number(api.port || (api.protocol === 'https:' ? 443 : 80)) }
  const ipv6 = opts.ipv6 ?? 'fec0::2'
  const problems: string[] = []
  const facts: string[] = []
  const round = async (when: string) => {
    const probes = await probeRound(shell, allowed, forbidden, ipv6)
    const bad = probes.filter(p => !p.ok)
    if (bad.length) problems.push(`${when}: ${bad.map(p => `${p.what}: ${p.saw || 'no answer'}`).join('; ')}`)
    facts.push(`${probes.length - bad.length}/${probes.length} probes as expected ${when}`)
  }
  await round('at first')

  // through the agent: the owner asks for the forbidden connection; the command runs (its result says so) and is refused
  const target = forbidden.targets[0]
  if (target) {
    const marker = `egress-${opts.nonce}`
    const command = `timeout 8 bash -c 'exec 3<>/dev/tcp/${target.host}/${target.port}' && echo CONNECTED-${marker} || echo REFUSED-${marker}`
    const callsBefore = opts.proxy.calls().length
    const repliesBefore = opts.tg.replies(opts.ownerId).length
    const sentAt = Date.now()
    opts.tg.sendDm({ id: opts.ownerId, first_name: 'Owner' }, `run \`${command}\` and tell me what it printed`)
    const turn = await settleTurn({ tg: opts.tg, proxy: opts.proxy, chatId: opts.ownerId, sentAt, callsBefore, repliesBefore, expect: marker, timeoutMs: opts.turnMs })
    const results = turn.calls.flatMap(c => c.messages.filter(m => m.role === 'tool').map(m => textOf(m.content)))
    if (results.some(r => r.includes(`CONNECTED-${marker}`))) problems.push(`through the agent: the sandbox connected to ${target.host}:${target.port}`)
    else if (!results.some(r => r.includes(`REFUSED-${marker}`))) problems.push(`through the agent: no exec result saying the connection was refused (${turn.calls.length} model call(s)${turn.timedOut ? ', timed out' : ''})`)
    else facts.push(`the owner's \`exec\` of a connection to ${target.host}:${target.port} ran in the sandbox and was refused`)
  }

  // the rules hold when Docker restarts, when the stack's network is made anew, and across a reboot
  if (opts.restarts) {
    await shell.sh('systemctl restart docker', opts.restartMs)
    if (!(await gatewayRunning(shell, opts.restartMs))) problems.push('after `systemctl restart docker` the gateway container did not run again')
    else await round('after systemctl restart docker')
    await shell.sh(`${COMPOSE} down && ${COMPOSE} up -d`, opts.restartMs)
    if (!(await gatewayRunning(shell, opts.restartMs))) problems.push('after `docker compose down && up -d` the gateway container did not run again')
    else await round('after docker compose down && up')
  }
  if (opts.reboot) {
    await opts.reboot()
    if (!(await gatewayRunning(shell, opts.restartMs))) problems.push('after a reboot the gateway container did not run again')
    else await round('after a reboot')
  }

  if (forbidden.connections() > 0) problems.push(`the forbidden stand-in recorded ${forbidden.connections()} connection(s)`)
  else facts.push('the forbidden stand-in recorded no connection')
  const counters = refusalCounts((await shell.sh('nft list counters table inet clawbake_egress')).out)
  facts.push(`nft counters: ${counters.map(c => `${c.name} ${c.packets}`).join(', ') || 'none'}`)
  if (!counters.some(c => c.packets > 0)) problems.push('no refusal was counted by the allowlist (nft list counters table inet clawbake_egress): the refusals did not come from its rules')
  return problems.length ? fail(`${problems.join('; ')}; ${facts.join('; ')}`) : pass(facts.join('; '))
}
