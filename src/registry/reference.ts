// Image references as `clawbake resolve --image` takes them: an explicit
// registry host and a repository path, never a tag or digest (the tag is the
// command's argument). A loopback registry host (127.0.0.0/8, localhost,
// [::1]) is spoken to over plain http, like Docker's default; any other host
// over https only.
import { ClawbakeError } from '../errors.ts'
import { isLoopbackHost } from '../loopback.ts'

export { isLoopbackHost }

export const DEFAULT_IMAGE = 'ghcr.io/openclaw/openclaw'

export interface ImageRef {
  /** `ghcr.io/openclaw/openclaw` as given (normalised to lower case host) */
  image: string
  /** `ghcr.io`, `127.0.0.1:5000`, `[::1]:5000` */
  host: string
  /** `openclaw/openclaw` */
  repository: string
  /** `https://ghcr.io` or `http://127.0.0.1:5000` */
  origin: string
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/
const HOST = /^(?:\[[0-9a-f:]+\]|[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*)(?::[0-9]{1,5})?$/i

export function parseImageRef(input: string): ImageRef {
  const refuse = (why: string) => new ClawbakeError(`image reference "${input}" ${why}`, { field: '--image', rule: 'registry.image-ref' }, 2)
  const slash = input.indexOf('/')
  if (slash <= 0) throw refuse('needs an explicit registry host, e.g. ghcr.io/openclaw/openclaw')
  const host = input.slice(0, slash).toLowerCase()
  const repository = input.slice(slash + 1)
  if (!HOST.test(host) || !(host.includes('.') || host.includes(':') || host === 'localhost')) {
    throw refuse(`starts with "${host}", which is not a registry host (a registry host has a dot, a port or is localhost)`)
  }
  if (repository.includes('@') || /:[^/]*$/.test(repository)) throw refuse('must not carry a tag or digest: pass the tag as the argument')
  if (!repository.split('/').every(c => COMPONENT.test(c))) throw refuse(`has an invalid repository path "${repository}" (lower-case components)`)
  const origin = `${isLoopbackHost(host) ? 'http' : 'https'}://${host}`
  return { image: `${host}/${repository}`, host, repository, origin }
}

/** Refuse plain http to anything but loopback (token realms, redirect targets). */
export function assertSecureUrl(url: URL, what: string, rule: string): void {
  if (url.protocol === 'https:') return
  if (url.protocol === 'http:' && isLoopbackHost(url.host)) return
  throw new ClawbakeError(`${what} ${url.origin} is not https (plain http is allowed for loopback hosts only)`, { file: url.href, rule }, 2)
}
