// Verifying what a registry served, before anything is believed: the sha256
// of the raw body bytes must equal Docker-Content-Digest (and the digest HEAD
// announced), the body's mediaType must equal Content-Type, and an index must
// name a linux/amd64 manifest. Attestation manifests are not platforms.
import { createHash } from 'node:crypto'
import { ClawbakeError } from '../errors.ts'
import { bareMediaType, describeMediaType, DOCKER_CONFIG, DOCKER_MANIFEST, isIndexType, isManifestType, OCI_CONFIG, OCI_MANIFEST, type ManifestType } from './media.ts'

export const DIGEST_RE = /^sha256:[a-f0-9]{64}$/

export interface Platform {
  os: string
  architecture: string
  variant?: string
  digest: string
}

export interface VerifiedManifest {
  digest: string
  mediaType: ManifestType
  json: Record<string, unknown>
  size: number
}

export function sha256Digest(bytes: Buffer): string {
  return 'sha256:' + createHash('sha256').update(bytes).digest('hex')
}

interface Where { file: string; what: string }

function fail(where: Where, rule: string, message: string): ClawbakeError {
  return new ClawbakeError(`${where.what}: ${message}`, { file: where.file, rule }, 1)
}

/**
 * Check a GET of a manifest. `announced` is what HEAD said (digest and
 * Content-Type), when a HEAD preceded the GET.
 */
export function verifyManifest(
  body: Buffer,
  headers: Record<string, string>,
  announced: { digest: string; mediaType: string } | null,
  where: Where,
): VerifiedManifest {
  const length = headers['content-length']
  if (length !== undefined && Number(length) !== body.length) {
    throw fail(where, 'registry.truncated', `body has ${body.length} bytes but Content-Length says ${length}`)
  }
  const headerDigest = headers['docker-content-digest']
  if (!headerDigest) throw fail(where, 'registry.digest-missing', 'the registry sent no Docker-Content-Digest header; refusing to trust an unverifiable manifest')
  if (!DIGEST_RE.test(headerDigest)) throw fail(where, 'registry.digest-algorithm', `Docker-Content-Digest "${headerDigest}" is not a sha256 digest`)
  const actual = sha256Digest(body)
  if (actual !== headerDigest) {
    throw fail(where, 'registry.digest-mismatch', `sha256 of the ${body.length} bytes served is ${actual}, but Docker-Content-Digest says ${headerDigest}`)
  }
  if (announced && announced.digest !== actual) {
    throw fail(where, 'registry.digest-stale', `HEAD announced ${announced.digest} but GET served ${actual}: the registry (or a cache) is inconsistent`)
  }
  const contentType = bareMediaType(headers['content-type'])
  if (!isManifestType(contentType)) {
    throw fail(where, 'registry.media-type-unsupported', `Content-Type "${headers['content-type'] ?? ''}" is not one of the four manifest types clawbake accepts`)
  }
  if (announced && bareMediaType(announced.mediaType) !== contentType) {
    throw fail(where, 'registry.media-type-mismatch', `HEAD said Content-Type ${announced.mediaType} but GET said ${contentType}`)
  }
  let json: unknown
  try {
    json = JSON.parse(body.toString('utf8'))
  } catch {
    throw fail(where, 'registry.manifest-malformed', 'manifest is not valid JSON')
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw fail(where, 'registry.manifest-malformed', 'manifest is not a JSON object')
  const m = json as Record<string, unknown>
  if (m.schemaVersion !== 2) throw fail(where, 'registry.manifest-malformed', `schemaVersion is ${JSON.stringify(m.schemaVersion)}, expected 2`)
  if (m.mediaType !== undefined && m.mediaType !== contentType) {
    throw fail(where, 'registry.media-type-mismatch', `body says mediaType ${JSON.stringify(m.mediaType)} but Content-Type is ${contentType}`)
  }
  if (m.mediaType === undefined && !contentType.startsWith('application/vnd.oci.')) {
    throw fail(where, 'registry.media-type-mismatch', `a ${describeMediaType(contentType)} must state its mediaType`)
  }
  const isIndex = Array.isArray(m.manifests)
  const isImage = !!m.config && typeof m.config === 'object' && Array.isArray(m.layers)
  if (isIndexType(contentType) ? !isIndex || isImage : !isImage || isIndex) {
    throw fail(where, 'registry.media-type-mismatch', `Content-Type ${contentType} does not match the body's structure (${isIndex ? 'an index' : isImage ? 'an image manifest' : 'neither index nor manifest'})`)
  }
  return { digest: actual, mediaType: contentType, json: m, size: body.length }
}

/** An entry of an index that is an attestation (BuildKit provenance/SBOM), not a runnable platform. */
export function isAttestation(entry: Record<string, unknown>): boolean {
  const p = entry.platform as Record<string, unknown> | undefined
  const annotations = (entry.annotations ?? {}) as Record<string, unknown>
  return annotations['vnd.docker.reference.type'] === 'attestation-manifest' || (p?.os === 'unknown' && p?.architecture === 'unknown')
}

export function platformName(p: { os: string; architecture: string; variant?: string }): string {
  return `${p.os}/${p.architecture}${p.variant ? '/' + p.variant : ''}`
}

/** The runnable platforms of an index, attestations left out; refuses anything ambiguous. */
export function indexPlatforms(index: VerifiedManifest, where: Where): Platform[] {
  const entries = index.json.manifests as unknown[]
  const out: Platform[] = []
  entries.forEach((raw, i) => {
    const e = (raw && typeof raw === 'object' ? raw : {}) as Record<string, unknown>
    const field = `manifests[${i}]`
    if (typeof e.digest !== 'string' || !DIGEST_RE.test(e.digest)) throw fail(where, 'registry.index-entry', `${field}.digest ${JSON.stringify(e.digest)} is not a sha256 digest`)
    if (isAttestation(e)) return
    if (e.mediaType !== OCI_MANIFEST && e.mediaType !== DOCKER_MANIFEST) {
      throw fail(where, 'registry.index-entry', `${field} has mediaType ${JSON.stringify(e.mediaType)}; expected an image manifest`)
    }
    const p = e.platform as Record<string, unknown> | undefined
    if (!p || typeof p.os !== 'string' || typeof p.architecture !== 'string') throw fail(where, 'registry.index-entry', `${field} (${e.digest}) has no platform`)
    const platform: Platform = { os: p.os, architecture: p.architecture, ...(typeof p.variant === 'string' && p.variant ? { variant: p.variant } : {}), digest: e.digest }
    const dup = out.find(o => platformName(o) === platformName(platform))
    if (dup) throw fail(where, 'registry.index-ambiguous', `${platformName(platform)} appears twice (${dup.digest} and ${platform.digest})`)
    out.push(platform)
  })
  requireAmd64(out, where)
  return out
}

export function requireAmd64(platforms: Platform[], where: Where): void {
  if (!platforms.some(p => p.os === 'linux' && p.architecture === 'amd64')) {
    const have = platforms.map(platformName).join(', ') || 'none'
    throw fail(where, 'registry.no-amd64', `no linux/amd64 image (platforms: ${have}); the golden VM is amd64`)
  }
}

/** The config descriptor of a single image manifest (to learn its platform). */
export function configDescriptor(m: VerifiedManifest, where: Where): { digest: string; size: number; mediaType: string } {
  const c = m.json.config as Record<string, unknown>
  if (typeof c.digest !== 'string' || !DIGEST_RE.test(c.digest)) throw fail(where, 'registry.manifest-malformed', `config.digest ${JSON.stringify(c.digest)} is not a sha256 digest`)
  if (typeof c.size !== 'number' || !Number.isSafeInteger(c.size) || c.size < 0) throw fail(where, 'registry.manifest-malformed', 'config.size is not a size')
  if (c.mediaType !== OCI_CONFIG && c.mediaType !== DOCKER_CONFIG) {
    throw fail(where, 'registry.manifest-malformed', `config.mediaType ${JSON.stringify(c.mediaType)} is not an image config (an artifact, not a runnable image)`)
  }
  return { digest: c.digest, size: c.size, mediaType: c.mediaType }
}

/** Verify a config blob against its descriptor and read its platform. */
export function configPlatform(body: Buffer, descriptor: { digest: string; size: number }, manifestDigest: string, where: Where): Platform {
  if (body.length !== descriptor.size) throw fail(where, 'registry.truncated', `config blob has ${body.length} bytes, its descriptor says ${descriptor.size}`)
  const actual = sha256Digest(body)
  if (actual !== descriptor.digest) throw fail(where, 'registry.digest-mismatch', `config blob hashes to ${actual}, expected ${descriptor.digest}`)
  let c: Record<string, unknown>
  try {
    c = JSON.parse(body.toString('utf8')) as Record<string, unknown>
  } catch {
    throw fail(where, 'registry.manifest-malformed', 'config blob is not JSON')
  }
  if (typeof c.os !== 'string' || typeof c.architecture !== 'string') throw fail(where, 'registry.manifest-malformed', 'config blob names no os/architecture')
  return { os: c.os, architecture: c.architecture, ...(typeof c.variant === 'string' && c.variant ? { variant: c.variant } : {}), digest: manifestDigest }
}
