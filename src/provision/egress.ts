// The agent's egress allowlist, as clawbake sees it before a VM exists: the
// entries `clawbake user-data --allow-egress host[:port]` records in
// client.env (EGRESS_ALLOW=), the rules every entry must meet (the same ones
// packer/files/egress.sh enforces at first boot), and the policy findings of
// `clawbake check` over a client.env. docs/egress.md describes the whole.
import { lookup } from 'node:dns/promises'
import { isIPv4 } from 'node:net'
import { parseDocument, isMap, isSeq, type YAMLMap } from 'yaml'
import { ClawbakeError } from '../errors.ts'
import type { Finding } from '../policy/finding.ts'

/** EGRESS_ALLOW's value when the client explicitly chose no allowlist. */
export const EGRESS_OFF = 'off'
/** The compose network: not an egress destination, but for its gateway address (stand-ins, the sandbox). */
const COMPOSE_NET = '172.31.240.'
const COMPOSE_GATEWAY = '172.31.240.1'

export interface EgressEntry {
  /** lowercase host name, or an IPv4 address / network (`a.b.c.0/24`) */
  host: string
  port: number
  literal: boolean
}

/** Name -> its IPv4 addresses (empty or throwing: does not resolve). Injectable so tests use a stand-in. */
export type Resolver = (host: string) => Promise<string[]>

export const systemResolver: Resolver = async host => (await lookup(host, { all: true, family: 4 })).map(a => a.address)

export interface EgressProblem { rule: string; message: string }

const LABEL = '[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?'
const HOST_NAME = new RegExp(`^(${LABEL}\\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$`)
const IPV4_NET = /^(\d{1,3}(?:\.\d{1,3}){3})(?:\/(\d{1,2}))?$/

function ipv4Number(addr: string): number {
  return addr.split('.').reduce((n, o) => n * 256 + Number(o), 0)
}

/** Private, loopback or shared address space: plain http there stays off the internet. */
function isPrivateIpv4(addr: string): boolean {
  const n = ipv4Number(addr)
  const inNet = (net: string, bits: number) => Math.floor(n / 2 ** (32 - bits)) === Math.floor(ipv4Number(net) / 2 ** (32 - bits))
  return inNet('10.0.0.0', 8) || inNet('172.16.0.0', 12) || inNet('192.168.0.0', 16) || inNet('127.0.0.0', 8) || inNet('100.64.0.0', 10)
}

/**
 * Parse one `host[:port]` entry. Returns the entry, or the problems that
 * refuse it (rule ids `egress.wildcard`, `egress.range`, `egress.link-local`,
 * `egress.malformed`); `scheme` is the URL scheme an entry came from, for
 * `egress.plain-http`.
 */
export function parseEgressEntry(text: string, scheme?: 'http' | 'https'): { entry?: EgressEntry; problems: EgressProblem[] } {
  const bad = (rule: string, message: string) => ({ problems: [{ rule, message: `${JSON.stringify(text)}: ${message}` }] })
  if (/[*?]/.test(text)) return bad('egress.wildcard', 'wildcards are not allowed: name each host')
  if (/[[\]]/.test(text) || (text.match(/:/g) ?? []).length > 1) return bad('egress.malformed', 'IPv6 is not allowed: the agent has IPv4 egress only')
  if (text.includes('://')) return bad('egress.malformed', 'give host[:port], not a URL')
  const [rawHost = '', rawPort] = text.split(':')
  let port = 443
  if (rawPort !== undefined) {
    if (!/^[1-9][0-9]{0,4}$/.test(rawPort) || Number(rawPort) > 65535) return bad('egress.malformed', 'the port must be 1-65535')
    port = Number(rawPort)
  }
  const host = rawHost.toLowerCase()
  const net = IPV4_NET.exec(host)
  let entry: EgressEntry
  if (net) {
    const addr = net[1]!
    const prefix = net[2] === undefined ? 32 : Number(net[2])
    if (!isIPv4(addr)) return bad('egress.malformed', 'not an IPv4 address')
    if (prefix < 24 || prefix > 32) return bad('egress.range', 'a range wider than /24 is not allowed')
    if (addr.startsWith('169.254.')) return bad('egress.link-local', 'link-local addresses (the cloud metadata service) are never allowed')
    const first = Number(addr.split('.')[0])
    if (first === 0 || first >= 224) return bad('egress.malformed', 'not a unicast address')
    if (addr.startsWith(COMPOSE_NET) && !(addr === COMPOSE_GATEWAY && prefix === 32)) return bad('egress.malformed', 'the compose network (172.31.240.0/24) is not an egress destination')
    const size = 2 ** (32 - prefix)
    const base = Math.floor(ipv4Number(addr) / size) * size
    const dotted = [24, 16, 8, 0].map(s => Math.floor(base / 2 ** s) % 256).join('.')
    entry = { host: prefix === 32 ? addr : `${dotted}/${prefix}`, port, literal: true }
  } else if (HOST_NAME.test(host) && host.length <= 253) {
    entry = { host, port, literal: false }
  } else {
    return bad('egress.malformed', 'not a host name (fully qualified: letters, digits, hyphens) or an IPv4 address')
  }
  const plainHttp = scheme === 'http' || (scheme === undefined && port === 80)
  const privateHost = entry.literal && isPrivateIpv4(entry.host.split('/')[0]!)
  if (plainHttp && !privateHost) {
    return { entry, problems: [{ rule: 'egress.plain-http', message: `${JSON.stringify(text)}: plain http to a public host is not allowed (use https; plain http only to a private address)` }] }
  }
  return { entry, problems: [] }
}

/** The default entry of an http(s) URL (AVOTS_BASE_URL, TELEGRAM_API_ROOT), as first boot derives it. */
export function urlEgressEntry(url: string): { entry?: EgressEntry; problems: EgressProblem[] } {
  const m = /^(https?):\/\/([^/?#]+)/.exec(url)
  if (!m) return { problems: [{ rule: 'egress.malformed', message: `${JSON.stringify(url)}: not an http(s) URL` }] }
  const scheme = m[1] as 'http' | 'https'
  const hostPort = m[2]!
  if (hostPort.includes('@')) return { problems: [{ rule: 'egress.malformed', message: `${JSON.stringify(url)}: credentials in the URL are not allowed` }] }
  return parseEgressEntry(hostPort.includes(':') ? hostPort : `${hostPort}:${scheme === 'http' ? 80 : 443}`, scheme)
}

export const entryText = (e: EgressEntry): string => `${e.host}:${e.port}`

/**
 * `--allow-egress` values -> the EGRESS_ALLOW entries (normalized, unique),
 * refusing the first bad one with the field and rule named; every host name
 * must resolve to an IPv4 address now (a typo never reaches a VM).
 */
export async function allowEgressEntries(values: readonly string[], resolve: Resolver = systemResolver, field = '--allow-egress'): Promise<string[]> {
  const out = new Set<string>()
  for (const text of values) {
    for (const item of text.split(',').map(s => s.trim()).filter(Boolean)) {
      const { entry, problems } = parseEgressEntry(item)
      if (problems.length || !entry) throw new ClawbakeError(problems[0]!.message, { field, rule: problems[0]!.rule }, 2)
      if (!entry.literal) {
        let addrs: string[] = []
        try { addrs = (await resolve(entry.host)).filter(a => isIPv4(a)) } catch { /* below */ }
        if (!addrs.length) throw new ClawbakeError(`${JSON.stringify(item)}: ${entry.host} does not resolve to an IPv4 address`, { field, rule: 'egress.unresolvable' }, 2)
      }
      out.add(entryText(entry))
    }
  }
  return [...out].sort()
}

/** The policy of a default entry (AVOTS_BASE_URL, TELEGRAM_API_ROOT) at `clawbake user-data`. */
export function assertUrlEntry(url: string, field: string): void {
  const { problems } = urlEgressEntry(url)
  if (problems.length) throw new ClawbakeError(problems[0]!.message, { field, rule: problems[0]!.rule }, 2)
}

/** The KEY=VALUE lines of a client.env (first-boot.sh's format). */
function envLines(text: string): { key: string; value: string; line: number }[] {
  return text.split('\n').flatMap((l, i) => {
    if (!l || l.startsWith('#') || !l.includes('=')) return []
    return [{ key: l.slice(0, l.indexOf('=')), value: l.slice(l.indexOf('=') + 1), line: i + 1 }]
  })
}

/**
 * `clawbake check` over a client.env: every EGRESS_ALLOW entry, the default
 * entries of AVOTS_BASE_URL and TELEGRAM_API_ROOT, and an allowlist turned off
 * (`egress.disabled`: reported, never silent). `path` is where the text sits.
 */
export function clientEnvEgressFindings(text: string, file: string, path: string): Finding[] {
  const out: Finding[] = []
  for (const { key, value, line } of envLines(text)) {
    const at = `${path} line ${line}`
    if (key === 'EGRESS_ALLOW') {
      if (value.trim() === EGRESS_OFF) {
        out.push({ rule: 'egress.disabled', file, path: at, message: 'EGRESS_ALLOW=off: the egress allowlist is disabled, the agent may reach any host (an explicit choice: clawbake user-data --no-egress-allowlist)' })
        continue
      }
      for (const item of value.split(',').map(s => s.trim()).filter(Boolean)) {
        for (const p of parseEgressEntry(item).problems) out.push({ rule: p.rule, file, path: at, message: `EGRESS_ALLOW ${p.message}` })
      }
    } else if ((key === 'AVOTS_BASE_URL' || key === 'TELEGRAM_API_ROOT') && value) {
      for (const p of urlEgressEntry(value).problems) out.push({ rule: p.rule, file, path: at, message: `${key} (a default egress entry) ${p.message}` })
    }
  }
  return out
}

/** The client.env content of a cloud-config document (the shipped snippet or a client's user-data), or undefined. */
export function clientEnvOf(cloudConfig: string, clientEnvPath: string): { content: string; path: string } | undefined {
  const doc = parseDocument(cloudConfig)
  const files = doc.get('write_files')
  if (doc.errors.length || !isSeq(files)) return undefined
  const i = files.items.findIndex(f => isMap(f) && f.get('path') === clientEnvPath)
  const content = i >= 0 ? (files.items[i] as YAMLMap).get('content') : undefined
  return typeof content === 'string' ? { content, path: `/write_files/${i}/content` } : undefined
}
