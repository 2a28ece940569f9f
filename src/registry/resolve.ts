// tag -> verified digest. HEAD learns the digest, GET fetches the bytes, and
// nothing is believed until sha256 over those raw bytes equals both. The pin
// is the digest of the INDEX (or of the single manifest); platform digests are
// reported beside it. Tags below the security floor are never resolved,
// prereleases only when explicitly allowed.
import { ClawbakeError } from '../errors.ts'
import { belowFloor, parseVersion, SECURITY_FLOOR } from '../releases/version.ts'
import { TokenCache } from './auth.ts'
import { configDescriptor, configPlatform, indexPlatforms, requireAmd64, verifyManifest, type Platform } from './manifest.ts'
import { ACCEPT_MANIFESTS, isIndexType } from './media.ts'
import { parseImageRef } from './reference.ts'
import { redact, RegistrySession, type Reply, type Target } from './session.ts'

export interface ResolvedImage {
  image: string
  tag: string
  /** sha256:<64hex> of the INDEX (or the single manifest) */
  digest: string
  mediaType: string
  platforms: Platform[]
}

export interface ResolveOptions {
  env: Record<string, string | undefined>
  allowPrerelease?: boolean
  /** reuse connections' tokens and count requests across resolves (bench, bake) */
  session?: RegistrySession
}

/** Manifests larger than this are refused (distribution's own limit is 4 MiB). */
const MAX_MANIFEST_BYTES = 4 << 20
const MAX_CONFIG_BYTES = 8 << 20

// Tokens are reused across resolves in one process until they expire.
const processTokens = new TokenCache()

export function newSession(env: Record<string, string | undefined>): RegistrySession {
  return new RegistrySession({ env, tokens: processTokens })
}

/** Refuse a tag clawbake must not resolve: malformed, below the floor, or (unless allowed) a prerelease. */
export function eligibleTag(tag: string, allowPrerelease: boolean): string {
  const v = parseVersion(tag, { field: 'tag' })
  if (belowFloor(v)) {
    throw new ClawbakeError(`${v.version} is below the security floor ${SECURITY_FLOOR} (CVE-2026-25253); it is never resolved or pinned, not even with --allow-prerelease`, { field: 'tag', rule: 'resolve.below-floor' }, 1)
  }
  if (v.prerelease && !allowPrerelease) {
    throw new ClawbakeError(`${v.version} is a prerelease (-${v.pre?.kind}.${v.pre?.n}); pass --allow-prerelease to resolve it anyway`, { field: 'tag', rule: 'resolve.prerelease' }, 1)
  }
  return v.version
}

function registryErrorCodes(reply: Reply): string {
  try {
    const body = JSON.parse(reply.body.toString('utf8')) as { errors?: { code?: string; message?: string }[] }
    const codes = (body.errors ?? []).map(e => [e.code, e.message].filter(Boolean).join(' ')).filter(Boolean)
    return codes.length ? ` (${codes.join('; ')})` : ''
  } catch {
    return ''
  }
}

function expectOk(reply: Reply, target: Target, what: string): void {
  if (reply.status === 200) return
  const file = redact(reply.url)
  const codes = registryErrorCodes(reply)
  switch (reply.status) {
    case 404:
      throw new ClawbakeError(`${what} of ${target.what} not found (HTTP 404)${codes}: is the tag published on this registry?`, { file, rule: 'registry.not-found' }, 1)
    case 401:
      throw new ClawbakeError(`registry refused access to ${target.what} (HTTP 401)${codes}: check CLAWBAKE_REGISTRY_USER / CLAWBAKE_REGISTRY_PASSWORD`, { file, rule: 'registry.unauthorized' }, 2)
    case 403:
      throw new ClawbakeError(`registry forbids pulling ${target.what} (HTTP 403)${codes}: the credentials lack pull access to this repository`, { file, rule: 'registry.forbidden' }, 2)
    default:
      throw new ClawbakeError(`registry answered HTTP ${reply.status} for ${what} of ${target.what}${codes}`, { file, rule: 'registry.http-error' }, 2)
  }
}

export async function resolveImage(req: { image: string; tag: string }, opts: ResolveOptions): Promise<ResolvedImage> {
  const tag = eligibleTag(req.tag, opts.allowPrerelease ?? false)
  const ref = parseImageRef(req.image)
  const session = opts.session ?? newSession(opts.env)
  const target: Target = { ref, what: `${ref.image}:${tag}` }
  const accept = { accept: ACCEPT_MANIFESTS }
  const path = `manifests/${tag}`

  // HEAD: learn the digest. A 401 here is answered and the next request is
  // the GET (which carries the digest header too): 3 requests cold, 2 warm.
  const head = await session.registry(target, 'HEAD', path, accept, { maxBytes: 0, onChallenge: 'return' })
  let announced: { digest: string; mediaType: string } | null = null
  if (!head.reauthorized) {
    expectOk(head, target, 'manifest')
    const digest = head.headers['docker-content-digest']
    if (digest) announced = { digest, mediaType: head.headers['content-type'] ?? '' }
  }

  // GET: the bytes, verified against the header digest and what HEAD said.
  const get = await session.registry(target, 'GET', path, accept, { maxBytes: MAX_MANIFEST_BYTES })
  expectOk(get, target, 'manifest')
  const where = { file: redact(get.url), what: target.what }
  const top = verifyManifest(get.body, get.headers, announced, where)

  let platforms: Platform[]
  if (isIndexType(top.mediaType)) {
    platforms = indexPlatforms(top, where)
  } else {
    // a single manifest names its platform only in its config blob
    const config = configDescriptor(top, where)
    const blob = await session.registry(target, 'GET', `blobs/${config.digest}`, { accept: config.mediaType }, { maxBytes: MAX_CONFIG_BYTES })
    expectOk(blob, target, `config blob ${config.digest}`)
    platforms = [configPlatform(blob.body, config, top.digest, { file: redact(blob.url), what: target.what })]
    requireAmd64(platforms, where)
  }
  return { image: ref.image, tag, digest: top.digest, mediaType: top.mediaType, platforms }
}
