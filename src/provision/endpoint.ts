// The remote endpoints a client's VM talks to: the avots gateway (an
// OpenAI-compatible base URL; a client behind an LLM proxy gives its own) and
// the Telegram Bot API root (a self-hosted Bot API server). One rule for both,
// shared by `clawbake user-data` and `clawbake check`:
//   https://<anything>           always;
//   http://<IP literal>          only when the address is not public:
//                                loopback, link-local or private (RFC 1918,
//                                IPv6 ULA), an address of the client's own
//                                network typed on purpose;
//   anything else (a host name over http, a public IP over http, user:pass@,
//   another scheme) is refused.
import { isIP } from 'node:net'

export type Exposure = 'loopback' | 'link-local' | 'private' | 'public'

/** Where an IP literal lives: loopback, link-local, private, or public. */
export function addressExposure(ip: string): Exposure {
  const a = ip.replace(/^\[|\]$/g, '').toLowerCase()
  if (isIP(a) === 4) {
    const [x, y] = a.split('.').map(Number) as [number, number]
    if (x === 127) return 'loopback'
    if (x === 169 && y === 254) return 'link-local'
    if (x === 10 || (x === 172 && y >= 16 && y <= 31) || (x === 192 && y === 168)) return 'private'
    return 'public'
  }
  if (isIP(a) === 6) {
    if (a === '::1') return 'loopback'
    if (/^fe[89ab][0-9a-f]:/.test(a)) return 'link-local'
    if (/^f[cd][0-9a-f]{2}:/.test(a)) return 'private'
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a)
    if (mapped) return addressExposure(mapped[1] as string)
    return 'public'
  }
  return 'public'
}

/** Why `url` is not an acceptable endpoint, or null. */
export function endpointProblem(url: string): string | null {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    return `${JSON.stringify(url)} is not a URL`
  }
  if (/\s/.test(url)) return 'a URL has no white space'
  if (u.username || u.password) return 'credentials do not belong in the URL (the key goes in its own secret)'
  if (u.search || u.hash) return 'the URL has a query or fragment'
  if (u.protocol === 'https:') return null
  if (u.protocol !== 'http:') return `the scheme must be https, not ${u.protocol.replace(/:$/, '')}`
  const host = u.hostname.replace(/^\[|\]$/g, '')
  if (host.toLowerCase() === 'localhost') return null
  if (!isIP(host)) return `plain http to a host name (${host}) is refused: use https, or an IP address of your own network`
  const where = addressExposure(host)
  if (where === 'public') return `plain http to the public address ${host} is refused: use https`
  return null
}

/** The endpoint without a trailing slash, or the problem named. */
export function normalizeEndpoint(url: string): string {
  return url.trim().replace(/\/+$/, '')
}
