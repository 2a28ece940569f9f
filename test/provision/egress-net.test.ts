// The egress allowlist as shipped (packer/files/egress.sh: its nftables rules
// and its dnsmasq), run in a topology of network namespaces built here:
//   vm        the VM: bridge openclaw0 172.31.240.1/24 (+ fd31::1/64), uplink
//             10.203.0.1 (+ fd03::1) to `outside`; runs egress.sh apply + dns;
//             the sandbox user is a uid of its own
//   container behind the bridge, 172.31.240.2, resolving through 172.31.240.1
//   outside   the allowed stand-in 10.203.1.10 (ports 8080, 9090), the
//             forbidden stand-in 10.203.1.20 (8080), both on IPv6 too, and the
//             upstream DNS stand-in 10.203.1.53 (dnsmasq, every query logged)
// Every case holds from the container and from the sandbox uid, the VM's own
// (root) traffic is untouched, and every refusal case fails once a broken rule
// set is applied. Namespaces, /etc/netns/<ns>/ and every process started here
// are removed on teardown; nothing listens outside these namespaces.
import t from 'tap'
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { REPO } from '../support/tree.ts'
import { start, type Started } from '../support/proc.ts'
import { run } from '../../src/proc/run.ts'

const EGRESS_SH = join(REPO, 'packer', 'files', 'egress.sh')
const SANDBOX_UID = 64123
const ALLOWED = '10.203.1.10'
const FORBIDDEN = '10.203.1.20'
const UPSTREAM = '10.203.1.53'

{
  t.test('egress allowlist in a namespace topology', { timeout: 180_000, skip: process.getuid?.() === 0 ? false : 'needs root (network namespaces, nftables)' }, async t => {
    const id = randomBytes(3).toString('hex')
    const ns = { vm: `cbvm-${id}`, ct: `cbct-${id}`, out: `cbout-${id}` }
    const dir = mkdtempSync(join(tmpdir(), 'clawbake-egress-'))
    const etc = join(dir, 'etc')
    const procs: Started[] = []
    t.teardown(async () => {
      for (const p of procs.reverse()) await p.stop()
      for (const n of Object.values(ns)) {
        await run('ip', ['netns', 'del', n], { timeoutMs: 10_000 })
        rmSync(`/etc/netns/${n}`, { recursive: true, force: true })
      }
      rmSync(dir, { recursive: true, force: true })
    })

    const sh = async (args: string[], timeoutMs = 10_000) => {
      const r = await run(args[0]!, args.slice(1), { timeoutMs, env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', EGRESS_ETC: etc, EGRESS_UPSTREAM_RESOLV: join(dir, 'upstream.resolv') } })
      return { ok: r.code === 0 && !r.timedOut, out: r.stdout, err: r.stderr, code: r.code }
    }
    const must = async (...args: string[]) => {
      const r = await sh(args)
      if (!r.ok) throw new Error(`${args.join(' ')}: exit ${r.code}: ${r.err}`)
      return r.out
    }
    const inNs = (n: string, ...args: string[]) => ['ip', 'netns', 'exec', n, ...args]

    // --- the topology ---------------------------------------------------------
    for (const n of Object.values(ns)) {
      await must('ip', 'netns', 'add', n)
      await must('ip', '-n', n, 'link', 'set', 'lo', 'up')
    }
    mkdirSync(`/etc/netns/${ns.ct}`, { recursive: true })
    writeFileSync(`/etc/netns/${ns.ct}/resolv.conf`, 'nameserver 172.31.240.1\noptions timeout:2 attempts:1\n')
    // the VM's own resolver is the upstream one (as DHCP / systemd-resolved would give it)
    mkdirSync(`/etc/netns/${ns.vm}`, { recursive: true })
    writeFileSync(`/etc/netns/${ns.vm}/resolv.conf`, `nameserver ${UPSTREAM}\noptions timeout:2 attempts:1\n`)
    writeFileSync(join(dir, 'upstream.resolv'), `nameserver ${UPSTREAM}\n`)
    const vm = (...a: string[]) => must('ip', '-n', ns.vm, ...a)
    await vm('link', 'add', 'openclaw0', 'type', 'bridge')
    await vm('addr', 'add', '172.31.240.1/24', 'dev', 'openclaw0')
    await vm('addr', 'add', 'fd31::1/64', 'dev', 'openclaw0', 'nodad')
    await vm('link', 'set', 'openclaw0', 'up')
    await vm('link', 'add', 'veth-ct', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns.ct)
    await vm('link', 'set', 'veth-ct', 'master', 'openclaw0', 'up')
    await vm('link', 'add', 'veth-out', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns.out)
    await vm('addr', 'add', '10.203.0.1/24', 'dev', 'veth-out')
    await vm('addr', 'add', 'fd03::1/64', 'dev', 'veth-out', 'nodad')
    await vm('link', 'set', 'veth-out', 'up')
    await vm('route', 'add', 'default', 'via', '10.203.0.2')
    await vm('-6', 'route', 'add', 'default', 'via', 'fd03::2')
    await must(...inNs(ns.vm, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1'))
    const ct = (...a: string[]) => must('ip', '-n', ns.ct, ...a)
    await ct('addr', 'add', '172.31.240.2/24', 'dev', 'eth0')
    await ct('addr', 'add', 'fd31::2/64', 'dev', 'eth0', 'nodad')
    await ct('link', 'set', 'eth0', 'up')
    await ct('route', 'add', 'default', 'via', '172.31.240.1')
    await ct('-6', 'route', 'add', 'default', 'via', 'fd31::1')
    const out = (...a: string[]) => must('ip', '-n', ns.out, ...a)
    await out('addr', 'add', '10.203.0.2/24', 'dev', 'eth0')
    await out('addr', 'add', 'fd03::2/64', 'dev', 'eth0', 'nodad')
    await out('link', 'set', 'eth0', 'up')
    for (const a of [`${ALLOWED}/32`, `${FORBIDDEN}/32`, `${UPSTREAM}/32`]) await out('addr', 'add', a, 'dev', 'lo')
    for (const a of ['fd03:1::10/128', 'fd03:1::20/128']) await out('addr', 'add', a, 'dev', 'lo', 'nodad')
    await out('route', 'add', '172.31.240.0/24', 'via', '10.203.0.1')
    await out('-6', 'route', 'add', 'fd31::/64', 'via', 'fd03::1')

    // --- the stand-ins ----------------------------------------------------------
    // TCP servers that answer HTTP and print one line per connection they accepted
    const server = `
      const http = require('node:http')
      for (const spec of process.argv.slice(1)) {
        const [name, host, port] = spec.split(',')
        const s = http.createServer((req, res) => res.end('ok ' + name + '\\n'))
        s.on('connection', c => console.log('conn ' + name + ' ' + host + ' ' + port + ' from ' + c.remoteAddress))
        s.listen(Number(port), host, () => console.log('listening ' + name + ' ' + host + ' ' + port))
      }`
    const listen = async (n: string, specs: string[]) => {
      const p = start('ip', ['netns', 'exec', n, process.execPath, '-e', server, ...specs])
      procs.push(p)
      await waitFor(() => specs.every(s => p.output().includes(`listening ${s.split(',').join(' ')}`)), `servers in ${n}: ${p.output()}`)
      return p
    }
    const outside = await listen(ns.out, [`allowed,${ALLOWED},8080`, `allowed,${ALLOWED},9090`, `forbidden,${FORBIDDEN},8080`, 'allowed6,fd03:1::10,8080', 'forbidden6,fd03:1::20,8080'])
    // the gateway's port: published on the VM's loopback, and in the container's own namespace
    await listen(ns.vm, ['vm-gateway,127.0.0.1,18789'])
    await listen(ns.ct, ['ct-gateway,172.31.240.2,18789'])
    const upstream = start('ip', ['netns', 'exec', ns.out, 'dnsmasq', '--keep-in-foreground', '--conf-file=/dev/null', '--no-resolv', '--no-hosts',
      `--listen-address=${UPSTREAM}`, '--bind-interfaces', '--pid-file=', '--log-queries', '--log-facility=-',
      `--address=/allowed.egress.test/${ALLOWED}`, '--address=/allowed.egress.test/fd03:1::10',
      `--address=/forbidden.egress.test/${FORBIDDEN}`, `--address=/sub.allowed.egress.test/${FORBIDDEN}`])
    procs.push(upstream)
    await waitFor(() => upstream.output().includes('started'), `upstream dnsmasq: ${upstream.output()}`)

    // --- the allowlist, as first boot renders it -----------------------------------
    await must('bash', EGRESS_SH, 'render', '--uid', String(SANDBOX_UID), 'allowed.egress.test:8080')
    t.equal(readFileSync(join(etc, 'allowlist'), 'utf8'), 'allowed.egress.test:8080\n', 'the recorded allowlist')
    let resolver: Started | undefined
    const startResolver = async () => {
      if (resolver) { await resolver.stop(); procs.splice(procs.indexOf(resolver), 1) }
      const r = start('ip', ['netns', 'exec', ns.vm, 'env', `EGRESS_ETC=${etc}`, `EGRESS_UPSTREAM_RESOLV=${join(dir, 'upstream.resolv')}`, 'bash', EGRESS_SH, 'dns'])
      procs.push(r)
      resolver = r
      await waitFor(() => r.output().includes('started'), `egress.sh dns: ${r.output()}`)
    }
    await must(...inNs(ns.vm, 'bash', EGRESS_SH, 'apply'))
    await startResolver()

    const connections = (name: string) => outside.output().split('\n').filter(l => l.startsWith(`conn ${name} `)).length
    const curl = (where: string[], url: string) => sh([...where, 'curl', '-sS', '-g', '--max-time', '4', '--noproxy', '*', url], 15_000)
    const lookup = (where: string[], server: string, name: string) => sh([...where, process.execPath, '-e', `
      const { Resolver } = require('node:dns/promises')
      const r = new Resolver({ timeout: 1500, tries: 1 }); r.setServers([process.argv[1]])
      r.resolve4(process.argv[2]).then(a => console.log(a.join(',')), e => { console.log(e.code); process.exitCode = 1 })`, server, name], 15_000)
    const fromCt = inNs(ns.ct)
    const asSandbox = inNs(ns.vm, 'setpriv', `--reuid=${SANDBOX_UID}`, `--regid=${SANDBOX_UID}`, '--clear-groups')
    const asRoot = inNs(ns.vm)

    // Each refusal case: true when the egress allowlist held.
    const refusals = async (who: string[], label: string): Promise<Record<string, boolean>> => {
      const before = connections('forbidden') + connections('forbidden6')
      const queriesBefore = upstream.output().split('\n').filter(l => /query\[\w+\] (forbidden|sub\.allowed)\.egress\.test/.test(l)).length
      const cases: Record<string, boolean> = {
        [`${label}: forbidden host by name`]: !(await curl(who, 'http://forbidden.egress.test:8080/')).ok,
        [`${label}: forbidden host by raw IP`]: !(await curl(who, `http://${FORBIDDEN}:8080/`)).ok,
        [`${label}: allowed host on another port`]: !(await curl(who, `http://${ALLOWED}:9090/`)).ok,
        [`${label}: IPv6, even to the allowed host`]: !(await curl(who, 'http://[fd03:1::10]:8080/')).ok && !(await curl(who, 'http://[fd03:1::20]:8080/')).ok,
        [`${label}: DNS for another name`]: !(await lookup(who, '172.31.240.1', 'forbidden.egress.test')).ok,
        [`${label}: DNS for a subdomain of an allowed name`]: !(await lookup(who, '172.31.240.1', 'sub.allowed.egress.test')).ok,
        [`${label}: DNS straight to the upstream server`]: !(await lookup(who, UPSTREAM, 'forbidden.egress.test')).ok,
      }
      cases[`${label}: the forbidden stand-in recorded no connection`] = connections('forbidden') + connections('forbidden6') === before
      cases[`${label}: the upstream DNS saw no query for a forbidden name`] = upstream.output().split('\n').filter(l => /query\[\w+\] (forbidden|sub\.allowed)\.egress\.test/.test(l)).length === queriesBefore
      return cases
    }
    const sandboxOnly = async (): Promise<Record<string, boolean>> => ({
      'sandbox: the gateway port on loopback': !(await curl(asSandbox, 'http://127.0.0.1:18789/')).ok,
      'sandbox: the gateway port in the container': !(await curl(asSandbox, 'http://172.31.240.2:18789/')).ok,
    })

    // --- the shipped rules ------------------------------------------------------------
    for (const [who, label] of [[fromCt, 'container'], [asSandbox, 'sandbox']] as const) {
      const r = await curl(who, 'http://allowed.egress.test:8080/')
      t.equal(r.out, 'ok allowed\n', `${label}: the allowed host is reachable by name (${r.err.trim()})`)
      for (const [name, held] of Object.entries(await refusals([...who], label))) t.ok(held, name)
    }
    for (const [name, held] of Object.entries(await sandboxOnly())) t.ok(held, name)
    t.equal(connections('forbidden'), 0, 'the forbidden stand-in never saw a connection')

    const counters = await must(...inNs(ns.vm, 'nft', 'list', 'counters', 'table', 'inet', 'clawbake_egress'))
    for (const c of ['refused_forward', 'refused_sandbox']) t.match(counters, new RegExp(`counter ${c} \\{[^}]*packets [1-9]`), `${c} counted the refusals`)

    // the VM's own traffic (root) is left alone: its resolver, the forbidden host, any port
    t.equal((await curl(asRoot, 'http://forbidden.egress.test:8080/')).out, 'ok forbidden\n', 'root: the forbidden host by name (system traffic untouched)')
    t.equal((await curl(asRoot, `http://${ALLOWED}:9090/`)).out, 'ok allowed\n', 'root: any port')
    t.equal((await curl(asRoot, 'http://127.0.0.1:18789/')).out, 'ok vm-gateway\n', 'root: the gateway port')

    // re-applying (systemctl reload clawbake-egress) replaces the table atomically and keeps working
    await must(...inNs(ns.vm, 'bash', EGRESS_SH, 'apply'))
    t.equal((await curl(fromCt, 'http://allowed.egress.test:8080/')).out, 'ok allowed\n', 'after a re-apply: the allowed host by name (dnsmasq refills the emptied set)')
    t.notOk((await curl(fromCt, `http://${FORBIDDEN}:8080/`)).ok, 'after a re-apply: the forbidden host stays refused')
    t.equal((await sh(inNs(ns.vm, 'nft', 'list', 'tables'))).out.match(/clawbake_egress/g)?.length, 1, 'one table, not two')

    // --- a deliberately broken rule set: every refusal case must fail -----------------------
    const shipped = readFileSync(join(etc, 'egress.nft'), 'utf8')
    const broken = shipped.replace(/goto refuse_\w+/g, 'accept')
    t.not(broken, shipped)
    writeFileSync(join(etc, 'egress.nft'), broken)
    writeFileSync(join(etc, 'allowlist'), 'off\n') // and dnsmasq forwarding every name
    await must(...inNs(ns.vm, 'nft', '-f', join(etc, 'egress.nft')))
    await startResolver()
    const weak = { ...(await refusals(fromCt, 'container')), ...(await refusals([...asSandbox], 'sandbox')), ...(await sandboxOnly()) }
    for (const [name, held] of Object.entries(weak)) t.notOk(held, `broken rules: ${name} no longer holds`)
    t.ok(connections('forbidden') > 0, 'broken rules: the forbidden stand-in saw the connections')

    // EGRESS_ALLOW=off: apply removes the table (and says so)
    const off = await sh(inNs(ns.vm, 'bash', EGRESS_SH, 'apply'))
    t.ok(off.ok, off.err)
    t.match(off.err, /allowlist is OFF/)
    t.notMatch((await sh(inNs(ns.vm, 'nft', 'list', 'tables'))).out, /clawbake_egress/, 'off: no table')
  })
}

async function waitFor(cond: () => boolean, what: string, ms = 15_000): Promise<void> {
  const until = Date.now() + ms
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await new Promise(r => setTimeout(r, 50))
  }
}
