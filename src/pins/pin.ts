// Pin a resolved release: compose (both OpenClaw services + the pin comment),
// pins.lock.json and a CHANGELOG "Unreleased" line. Everything is computed and
// checked in memory first; only then are the files that differ replaced, each
// atomically. Pinning the same release again changes no byte.
import { existsSync, readFileSync } from 'node:fs'
import { relative } from 'node:path'
import { ClawbakeError } from '../errors.ts'
import { projectPaths } from '../paths.ts'
import { belowFloor, parseVersion, SECURITY_FLOOR } from '../releases/version.ts'
import type { ResolvedImage } from '../registry/resolve.ts'
import { DIGEST_RE } from '../registry/manifest.ts'
import { MANIFEST_TYPES } from '../registry/media.ts'
import { writeFileAtomic } from '../atomic.ts'
import { pinBullet, withPinBullet } from './changelog.ts'
import { OPENCLAW_IMAGE, patchCompose } from './compose.ts'
import { readPinRecord, samePin, serializePinRecord, type PinRecord } from './record.ts'

export interface PinResult {
  changed: boolean
  tag: string
  digest: string
  /** paths relative to root that changed */
  files: string[]
}

export interface PinOptions {
  root: string
  now: Date
  sourceRelease?: string
  /** false for `clawbake pin --digest` (no registry asked); default true */
  verified?: boolean
}

/** The repository path every mirror of the OpenClaw image keeps. */
const OPENCLAW_PATH = OPENCLAW_IMAGE.slice(OPENCLAW_IMAGE.indexOf('/') + 1)

export function releaseUrl(tag: string): string {
  return `https://github.com/openclaw/openclaw/releases/tag/v${tag}`
}

function readOptional(file: string): string | null {
  try {
    return readFileSync(file, 'utf8')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw e
  }
}

export async function pinRelease(resolved: ResolvedImage, opts: PinOptions): Promise<PinResult> {
  const paths = projectPaths(opts.root)
  const v = parseVersion(resolved.tag, { field: 'tag' })
  if (belowFloor(v)) {
    throw new ClawbakeError(`${v.version} is below the security floor ${SECURITY_FLOOR}; it is never pinned`, { field: 'tag', rule: 'pin.below-floor' }, 1)
  }
  const tag = v.version
  if (!DIGEST_RE.test(resolved.digest)) {
    throw new ClawbakeError(`digest "${resolved.digest}" is not sha256:<64 lower-case hex>`, { field: 'digest', rule: 'pin.digest-malformed' }, 2)
  }
  if (!(MANIFEST_TYPES as readonly string[]).includes(resolved.mediaType)) {
    throw new ClawbakeError(`mediaType "${resolved.mediaType}" is not a manifest type`, { field: 'mediaType', rule: 'pin.media-type' }, 1)
  }
  const path = resolved.image.slice(resolved.image.indexOf('/') + 1)
  if (path !== OPENCLAW_PATH) {
    throw new ClawbakeError(`${resolved.image} is not the OpenClaw image (expected ${OPENCLAW_IMAGE} or a mirror of ${OPENCLAW_PATH})`, { field: 'image', rule: 'pin.wrong-repository' }, 1)
  }
  const date = opts.now.toISOString().slice(0, 10)
  const sourceRelease = opts.sourceRelease ?? releaseUrl(tag)

  // compose
  const composeText = readOptional(paths.compose)
  if (composeText === null) {
    throw new ClawbakeError('compose file is missing; nothing to pin', { file: paths.compose, rule: 'pin.compose-missing' }, 1)
  }
  const compose = patchCompose(composeText, { tag, digest: resolved.digest, date }, paths.compose)

  // lock
  const record: PinRecord = {
    schemaVersion: 1,
    image: OPENCLAW_IMAGE,
    tag,
    digest: resolved.digest,
    mediaType: resolved.mediaType,
    platforms: resolved.platforms.map(p => ({ os: p.os, architecture: p.architecture, ...(p.variant ? { variant: p.variant } : {}), digest: p.digest })),
    resolvedAt: opts.now.toISOString(),
    sourceRelease,
    ...(resolved.image !== OPENCLAW_IMAGE ? { resolvedFrom: resolved.image } : {}),
    ...(opts.verified === false ? { verified: false, note: 'pinned with `clawbake pin --digest` without asking a registry: no platform digests; re-verify before bake' } : {}),
  }
  const existing = existsSync(paths.pinsLock) ? readPinRecord(paths.pinsLock) : null
  const lockText = existing && samePin(existing, record) ? null : serializePinRecord(record, paths.pinsLock)

  // changelog: only when the pin itself changed
  const writes: { file: string; text: string }[] = []
  if (compose.changed) writes.push({ file: paths.compose, text: compose.text })
  if (lockText !== null) writes.push({ file: paths.pinsLock, text: lockText })
  if (writes.length) {
    const before = readOptional(paths.changelog)
    const after = withPinBullet(before, pinBullet({ tag, image: OPENCLAW_IMAGE, digest: resolved.digest, date, sourceRelease }))
    if (after !== before) writes.push({ file: paths.changelog, text: after })
  }
  for (const w of writes) writeFileAtomic(w.file, w.text)
  return { changed: writes.length > 0, tag, digest: resolved.digest, files: writes.map(w => relative(opts.root, w.file)) }
}
