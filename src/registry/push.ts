// Pushing to an OCI registry with the same session (auth, retries, redirects)
// as resolve: a blob the registry already has (HEAD) is not sent again; a new
// blob goes up in chunks (POST, PATCH with Content-Range, PUT ?digest=), and a
// dropped connection is resumed from the offset the registry reports (GET on
// the upload location). A registry that no longer knows the upload (docker
// distribution cancels an upload whose size disagrees with the client's state,
// e.g. after a PATCH cut half-way) gets a fresh upload from byte 0, and that is
// counted. After the push, verifyPushed() trusts nothing it was told during it.
import type { Readable } from 'node:stream'
import { ClawbakeError } from '../errors.ts'
import { sha256Digest, verifyManifest, type VerifiedManifest } from './manifest.ts'
import { ACCEPT_MANIFESTS } from './media.ts'
import { redact, type RegistrySession, type Reply, type Target } from './session.ts'

export interface BlobSource {
  digest: string
  size: number
  /** bytes [start, end) of the blob, as a fresh stream */
  open(start: number, end: number): Readable
}

export interface UploadStats {
  /** bytes put on the wire in PATCH bodies (a resumed or restarted range counts again) */
  bytesSent: number
  /** the registry already had the blob: nothing sent */
  skipped: boolean
  /** resumed from the registry's offset after a failed PATCH */
  resumes: number
  /** the registry had dropped the upload: started again from byte 0 */
  restarts: number
}

export interface UploadOptions {
  chunkBytes: number
  /** bytes the registry has acknowledged so far */
  onProgress?: (done: number, total: number) => void
  /** failed PATCHes in a row (no progress in between) before giving up */
  maxFailures?: number
}

const MIB = 1 << 20
export const DEFAULT_CHUNK_BYTES = 128 * MIB

/** CLAWBAKE_PUSH_CHUNK_MB (default 128): the PATCH size. */
export function chunkBytesFromEnv(env: Record<string, string | undefined>): number {
  const raw = env.CLAWBAKE_PUSH_CHUNK_MB
  if (raw === undefined || raw === '') return DEFAULT_CHUNK_BYTES
  const n = Number(raw)
  if (!Number.isFinite(n) || n <= 0 || n > 4096) throw new ClawbakeError(`CLAWBAKE_PUSH_CHUNK_MB=${raw} is not a size in MiB between 0 and 4096`, { field: 'CLAWBAKE_PUSH_CHUNK_MB', rule: 'registry.env-invalid' }, 2)
  return Math.max(1024, Math.floor(n * MIB))
}

function httpError(reply: Reply, target: Target, what: string): ClawbakeError {
  let codes = ''
  try {
    const body = JSON.parse(reply.body.toString('utf8')) as { errors?: { code?: string; message?: string }[] }
    codes = (body.errors ?? []).map(e => [e.code, e.message].filter(Boolean).join(' ')).join('; ')
  } catch { /* not JSON */ }
  const file = redact(reply.url)
  const detail = codes ? ` (${codes})` : ''
  if (reply.status === 401 || reply.status === 403) {
    return new ClawbakeError(`registry refused to let clawbake ${what} ${target.what} (HTTP ${reply.status})${detail}: the credentials need push access (CLAWBAKE_REGISTRY_USER/CLAWBAKE_REGISTRY_PASSWORD, or GITHUB_TOKEN with packages: write for ghcr.io)`, { file, rule: 'registry.push-denied' }, 2)
  }
  return new ClawbakeError(`registry answered HTTP ${reply.status} to ${what} ${target.what}${detail}`, { file, rule: 'registry.push-failed' }, 2)
}

/** Does the registry hold this blob, with this size? (A different size is a registry that lies: refused.) */
export async function blobExists(session: RegistrySession, target: Target, digest: string, size: number): Promise<boolean> {
  const r = await session.registry(target, 'HEAD', `blobs/${digest}`, {}, { maxBytes: 0 })
  if (r.status === 404) return false
  if (r.status !== 200) throw httpError(r, target, `look for blob ${digest} of`)
  const length = r.headers['content-length']
  if (length !== undefined && Number(length) !== size) {
    throw new ClawbakeError(`registry says blob ${digest} has ${length} bytes, expected ${size}`, { file: redact(r.url), rule: 'registry.blob-size-mismatch' }, 1)
  }
  const announced = r.headers['docker-content-digest']
  if (announced && announced !== digest) {
    throw new ClawbakeError(`registry answered HEAD of blob ${digest} with Docker-Content-Digest ${announced}`, { file: redact(r.url), rule: 'registry.digest-mismatch' }, 1)
  }
  return true
}

/** `0-1023` (or `bytes=0-1023`) -> 1024 bytes received; distribution says `0-0` for an empty upload. */
export function receivedFromRange(range: string | undefined, knownOffset: number): number | null {
  const m = /^\s*(?:bytes=)?0-(\d+)\s*$/.exec(range ?? '')
  if (!m) return null
  const end = Number(m[1])
  return end === 0 && knownOffset === 0 ? 0 : end + 1
}

async function startUpload(session: RegistrySession, target: Target): Promise<string> {
  const r = await session.registry(target, 'POST', 'blobs/uploads/', { 'content-length': '0' }, { maxBytes: 1 << 16 })
  if (r.status !== 202 || !r.headers.location) throw httpError(r, target, 'start an upload to')
  return r.headers.location
}

/** Upload one blob unless the registry has it. Returns what it cost. */
export async function uploadBlob(session: RegistrySession, target: Target, blob: BlobSource, opts: UploadOptions): Promise<UploadStats> {
  const stats: UploadStats = { bytesSent: 0, skipped: false, resumes: 0, restarts: 0 }
  if (await blobExists(session, target, blob.digest, blob.size)) {
    stats.skipped = true
    opts.onProgress?.(blob.size, blob.size)
    return stats
  }
  const maxFailures = opts.maxFailures ?? Math.max(3, session.retries + 1)
  let location = await startUpload(session, target)
  let offset = 0
  let failures = 0
  let lastFailure = ''
  // the transfer starts now: a progress rate is measured from here, not from the first acknowledged chunk
  opts.onProgress?.(0, blob.size)
  while (offset < blob.size) {
    const end = Math.min(blob.size, offset + opts.chunkBytes)
    let reply: Reply | null = null
    try {
      stats.bytesSent += end - offset
      reply = await session.registry(target, 'PATCH', location, {
        'content-type': 'application/octet-stream',
        'content-range': `${offset}-${end - 1}`,
        'content-length': String(end - offset),
      }, { maxBytes: 1 << 16, body: () => blob.open(offset, end), retry: false })
    } catch (e) {
      if (e instanceof ClawbakeError && !['registry.network', 'registry.unavailable'].includes(e.rule)) throw e
      lastFailure = e instanceof Error ? e.message : String(e)
    }
    if (reply && reply.status === 202) {
      const got = receivedFromRange(reply.headers.range, offset)
      if (reply.headers.location) location = reply.headers.location
      // a registry that does not say how much it has: believe the chunk landed
      offset = got ?? end
      failures = 0
      opts.onProgress?.(offset, blob.size)
      continue
    }
    if (reply && ![404, 416, 429, 500, 502, 503, 504].includes(reply.status)) throw httpError(reply, target, `upload blob ${blob.digest} to`)
    if (reply) lastFailure = `HTTP ${reply.status}`
    if (++failures > maxFailures) {
      throw new ClawbakeError(`upload of blob ${blob.digest} to ${target.what} failed ${failures} times in a row at byte ${offset}: ${lastFailure}`, { file: redact(session.registryUrl(target, location).href), rule: 'registry.upload-failed' }, 2)
    }
    // ask the registry where the upload stands (a 404: it dropped the upload)
    const status = reply?.status === 404 ? null : await session.registry(target, 'GET', location, {}, { maxBytes: 1 << 16 }).catch(() => null)
    const got = status?.status === 204 ? receivedFromRange(status.headers.range, offset) : null
    if (status && got !== null) {
      if (status.headers.location) location = status.headers.location
      offset = got
      stats.resumes++
    } else {
      location = await startUpload(session, target)
      offset = 0
      stats.restarts++
    }
    opts.onProgress?.(offset, blob.size)
  }
  const done = session.registryUrl(target, location)
  done.searchParams.set('digest', blob.digest)
  const put = await session.registry(target, 'PUT', done.pathname + done.search, { 'content-length': '0' }, { maxBytes: 1 << 16 })
  if (put.status !== 201) throw httpError(put, target, `finish the upload of blob ${blob.digest} to`)
  const stored = put.headers['docker-content-digest']
  if (stored && stored !== blob.digest) {
    throw new ClawbakeError(`registry stored the upload as ${stored}, expected ${blob.digest}`, { file: redact(put.url), rule: 'registry.digest-mismatch' }, 1)
  }
  return stats
}

/** Upload a small blob (a config) from memory. */
export async function uploadBytes(session: RegistrySession, target: Target, bytes: Buffer, opts: UploadOptions): Promise<UploadStats & { digest: string }> {
  const digest = sha256Digest(bytes)
  const { Readable } = await import('node:stream')
  const stats = await uploadBlob(session, target, { digest, size: bytes.length, open: (s, e) => Readable.from([bytes.subarray(s, e)]) }, opts)
  return { ...stats, digest }
}

/** PUT a manifest under a tag (or its digest); the registry's digest must be ours. */
export async function putManifest(session: RegistrySession, target: Target, reference: string, bytes: Buffer, mediaType: string): Promise<string> {
  const digest = sha256Digest(bytes)
  const r = await session.registry(target, 'PUT', `manifests/${reference}`, { 'content-type': mediaType, 'content-length': String(bytes.length) }, { maxBytes: 1 << 16, body: bytes })
  if (r.status !== 201) throw httpError(r, target, `put manifest ${reference} of`)
  const stored = r.headers['docker-content-digest']
  if (stored && stored !== digest) {
    throw new ClawbakeError(`registry stored manifest ${reference} as ${stored}, but its bytes hash to ${digest}`, { file: redact(r.url), rule: 'registry.digest-mismatch' }, 1)
  }
  return digest
}

/** GET a manifest by tag or digest and verify it (sha256 of the bytes == Docker-Content-Digest == `expected`). */
export async function fetchManifest(session: RegistrySession, target: Target, reference: string, expected: string | null): Promise<VerifiedManifest & { raw: Buffer }> {
  const r = await session.registry(target, 'GET', `manifests/${reference}`, { accept: ACCEPT_MANIFESTS }, { maxBytes: 4 << 20 })
  if (r.status === 404) throw new ClawbakeError(`manifest ${reference} of ${target.what} is not on the registry (HTTP 404)`, { file: redact(r.url), rule: 'registry.not-found' }, 1)
  if (r.status !== 200) throw httpError(r, target, `get manifest ${reference} of`)
  const where = { file: redact(r.url), what: `${target.what} ${reference}` }
  const m = verifyManifest(r.body, r.headers, null, where)
  if (expected && m.digest !== expected) {
    throw new ClawbakeError(`${where.what}: the registry serves manifest ${m.digest}, expected ${expected}`, { file: where.file, rule: 'registry.digest-mismatch' }, 1)
  }
  return { ...m, raw: r.body }
}

/** After a push: HEAD every blob, GET the manifest by `reference`, compare digests. */
export async function verifyPushed(session: RegistrySession, target: Target, reference: string, expected: { manifestDigest: string; blobs: { digest: string; size: number }[] }): Promise<VerifiedManifest> {
  for (const b of expected.blobs) {
    if (!(await blobExists(session, target, b.digest, b.size))) {
      throw new ClawbakeError(`after the push, blob ${b.digest} of ${target.what} is not on the registry`, { file: target.ref.origin, rule: 'registry.verify-failed' }, 1)
    }
  }
  return await fetchManifest(session, target, reference, expected.manifestDigest)
}
