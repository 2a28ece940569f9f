// egress (boot test): the client's VM reaches its avots and Bot API hosts and
// nothing else, proven three ways — as the sandbox user, from inside the
// gateway container, and through the agent itself (the owner asks OpenClaw to
// connect to the forbidden host) — and again after `systemctl restart docker`
// and `docker compose down && up`. The forbidden host is a stand-in on this
// machine reached at its own guest address (qemu guestfwd, FORBIDDEN_ADDR:80)
// and, as another port of an allowed address, at 10.0.2.2:<its port>; it
// records every connection, and must record none. DNS for a name outside the
// list must be refused by the agent's resolver (not forwarded, not NXDOMAIN;
// Docker's embedded DNS hands dnsmasq's REFUSED to the container as SERVFAIL).
import { createServer, type Server } from 'node:net'
import type { AddressInfo } from 'node:net'
import { fail, pass, type Verdict } from '../gates/gate.ts'
import type { TelegramStandin } from '../standins/telegram.ts'
import type { AvotsProxy } from '../gates/avots-proxy.ts'
import { settleTurn, textOf, sleep } from '../gates/conversation.ts'
import type { Ssh } from './ssh.ts'
import { compose, gatewayContainer } from './ssh-host.ts'
import { QEMU_HOST_ADDR } from './vm.ts'

/** The forbidden stand-in as the VM sees it (a guestfwd address of its own). */
export const FORBIDDEN_ADDR = '10.0.2.101'

export interface ForbiddenStandin {
  port: number
  /** connections it accepted so far */
  connections(): number
  close(): Promise<void>
}

/** A TCP server on 127.0.0.1 that answers anything with one HTTP line and counts who connected. */
export async function startForbiddenStandin(): Promise<ForbiddenStandin> {
  let n = 0
  const server: Server = createServer(sock => {
    n++
    sock.on('error', () => {})
    sock.end('HTTP/1.0 200 OK\r\ncontent-type: text/plain\r\n\r\nclawbake forbidden stand-in: you should not be here\n')
  })
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(0, '127.0.0.1', () => resolve()) })
  return {
    port: (server.address() as AddressInfo).port,
    connections: () => n,
    close: () => new Promise<void>(resolve => server.close(() => resolve())),
  }
}

interface Probe { what: string; ok: boolean; saw: string }

const tcpAs = (target: string) => `timeout 8 bash -c 'exec 3<>/dev/tcp/${target}' 2>&1 && echo CONNECTED || echo REFUSED`
const nodeConnect = (host: string, port: number) =>
  `node -e "const s=require('net').connect(${port},'${host}');s.setTimeout(8000,()=>{console.log('TIMEOUT');process.exit(1)});s.on('connect',()=>{console.log('CONNECTED');process.exit(0)});s.on('error',e=>{console.log(e.code);process.exit(1)})"`
const nodeResolve = (name: string) =>
  `node -e "require('dns').promises.resolve4('${name}').then(a=>console.log('RESOLVED',a.join(',')),e=>console.log(e.code))"`

/** One round of probes: allowed reachable, forbidden refused (raw IP, other port, IPv6), other names refused. */
async function probeRound(ssh: Ssh, allowed: { host: string; port: number }, forbidden: ForbiddenStandin): Promise<Probe[]> {
  const out: Probe[] = []
  const sh = async (cmd: string) => {
    const r = await ssh.exec(cmd, { sudo: true, timeoutMs: 90_000 })
    return (r.stdout + r.stderr).trim().split('\n').pop() ?? ''
  }
  const gw = await gatewayContainer(ssh)
  const inGw = (cmd: string) => sh(`docker exec ${gw} ${cmd}`)
  const asSandbox = (cmd: string) => sh(`runuser -u sandbox -- ${cmd}`)
  const expect = (what: string, saw: string, want: RegExp) => out.push({ what, ok: want.test(saw), saw })
  expect(`sandbox user -> allowed ${allowed.host}:${allowed.port}`, await asSandbox(tcpAs(`${allowed.host}/${allowed.port}`)), /^CONNECTED$/)
  expect(`sandbox user -> forbidden ${FORBIDDEN_ADDR}:80 (raw IP)`, await asSandbox(tcpAs(`${FORBIDDEN_ADDR}/80`)), /^REFUSED$/)
  expect(`sandbox user -> ${QEMU_HOST_ADDR}:${forbidden.port} (another port of an allowed address)`, await asSandbox(tcpAs(`${QEMU_HOST_ADDR}/${forbidden.port}`)), /^REFUSED$/)
  expect('sandbox user -> gateway 127.0.0.1:18789', await asSandbox(tcpAs('127.0.0.1/18789')), /^REFUSED$/)
  expect('sandbox user: DNS for clawbake-egress-probe.example.org', await asSandbox('getent hosts clawbake-egress-probe.example.org >/dev/null && echo RESOLVED || echo REFUSED'), /^REFUSED$/)
  if (gw) {
    expect(`gateway container -> allowed ${allowed.host}:${allowed.port}`, await inGw(nodeConnect(allowed.host, allowed.port)), /^CONNECTED$/)
    expect(`gateway container -> forbidden ${FORBIDDEN_ADDR}:80 (raw IP)`, await inGw(nodeConnect(FORBIDDEN_ADDR, 80)), /^(ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|TIMEOUT|EACCES)$/)
    expect(`gateway container -> ${QEMU_HOST_ADDR}:${forbidden.port} (another port)`, await inGw(nodeConnect(QEMU_HOST_ADDR, forbidden.port)), /^(ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|TIMEOUT|EACCES)$/)
    expect('gateway container -> IPv6 (fec0::2, qemu\'s host)', await inGw(nodeConnect('fec0::2', allowed.port)), /^(ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|TIMEOUT|EACCES|EADDRNOTAVAIL)$/)
    expect('gateway container: DNS for clawbake-egress-probe.example.org', await inGw(nodeResolve('clawbake-egress-probe.example.org')), /^E(REFUSED|SERVFAIL)$/)
  } else {
    out.push({ what: 'gateway container', ok: false, saw: 'no openclaw-gateway container' })
  }
  return out
}

async function gatewayRunning(ssh: Ssh, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs
  while (Date.now() < until) {
    const id = await gatewayContainer(ssh)
    if (id && (await ssh.exec(`docker inspect -f '{{.State.Running}}' ${id}`, { sudo: true })).stdout.trim() === 'true') return true
    await sleep(2000)
  }
  return false
}

export async function egressGate(opts: {
  ssh: Ssh
  tg: TelegramStandin
  proxy: AvotsProxy
  forbidden: ForbiddenStandin
  ownerId: number
  nonce: string
  turnMs: number
  restartMs: number
}): Promise<Verdict> {
  const { ssh, forbidden } = opts
  const allowed = { host: QEMU_HOST_ADDR, port: Number(new URL(opts.tg.apiRoot).port) }
  const problems: string[] = []
  const facts: string[] = []
  const round = async (when: string) => {
    const probes = await probeRound(ssh, allowed, forbidden)
    const bad = probes.filter(p => !p.ok)
    if (bad.length) problems.push(`${when}: ${bad.map(p => `${p.what}: ${p.saw || 'no answer'}`).join('; ')}`)
    return probes.length
  }
  const n = await round('at first boot')
  facts.push(`${n} probes at first boot`)

  // through the agent: the owner asks for the forbidden connection; the command runs (its result says so) and is refused
  const marker = `egress-${opts.nonce}`
  const command = `timeout 8 bash -c 'exec 3<>/dev/tcp/${FORBIDDEN_ADDR}/80' && echo CONNECTED-${marker} || echo REFUSED-${marker}`
  const callsBefore = opts.proxy.calls().length
  const repliesBefore = opts.tg.replies(opts.ownerId).length
  const sentAt = Date.now()
  opts.tg.sendDm({ id: opts.ownerId, first_name: 'Owner' }, `run \`${command}\` and tell me what it printed`)
  const turn = await settleTurn({ tg: opts.tg, proxy: opts.proxy, chatId: opts.ownerId, sentAt, callsBefore, repliesBefore, expect: marker, timeoutMs: opts.turnMs })
  const results = turn.calls.flatMap(c => c.messages.filter(m => m.role === 'tool').map(m => textOf(m.content)))
  if (results.some(r => r.includes(`CONNECTED-${marker}`))) problems.push('through the agent: the sandbox connected to the forbidden host')
  else if (!results.some(r => r.includes(`REFUSED-${marker}`))) problems.push(`through the agent: no exec result saying the connection was refused (${turn.calls.length} model call(s)${turn.timedOut ? ', timed out' : ''})`)
  else facts.push('the owner\'s `exec` of a connection to the forbidden host ran in the sandbox and was refused')

  // the rules hold when Docker restarts and when the stack's network is made anew
  await ssh.exec('systemctl restart docker', { sudo: true, timeoutMs: opts.restartMs })
  if (!(await gatewayRunning(ssh, opts.restartMs))) problems.push('after `systemctl restart docker` the gateway container did not run again')
  else facts.push(`${await round('after systemctl restart docker')} probes after systemctl restart docker`)
  await ssh.exec(`${compose} down && ${compose} up -d`, { sudo: true, timeoutMs: opts.restartMs })
  if (!(await gatewayRunning(ssh, opts.restartMs))) problems.push('after `docker compose down && up -d` the gateway container did not run again')
  else facts.push(`${await round('after docker compose down && up')} probes after docker compose down && up`)

  if (forbidden.connections() > 0) problems.push(`the forbidden stand-in recorded ${forbidden.connections()} connection(s)`)
  else facts.push('the forbidden stand-in recorded no connection')
  const counters = await ssh.exec('nft list counters table inet clawbake_egress', { sudo: true })
  const refused = [...counters.stdout.matchAll(/counter (refused_\w+) \{\s*packets (\d+)/g)].map(m => `${m[1]} ${m[2]}`)
  facts.push(`nft counters: ${refused.join(', ') || 'none'}`)
  if (!refused.some(r => !/ 0$/.test(r))) problems.push('no refusal was counted (nft list counters table inet clawbake_egress)')
  return problems.length ? fail(`${problems.join('; ')}; ${facts.join('; ')}`) : pass(facts.join('; '))
}
