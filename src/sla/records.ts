// The two records the SLA is computed from (shapes fixed in the cross-module
// contract, schemas in schemas/):
//   catalog/releases.json   what watch saw: tag, channel, publishedAt, urgency, dueBy
//   catalog/<channel>.json  what bake published: tag, releasedAt, publishedAt, ...
// A missing file is "nothing recorded yet"; a file that is there but wrong is
// one error naming the file, the field and the rule, and nothing is reported.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ClawbakeError } from '../errors.ts'
import { CHANNELS, parseVersion, type Channel, type OpenclawVersion } from '../releases/version.ts'
import { assertSchema } from '../schema/assert.ts'
import { firstMovedAt, type Catalog } from '../publish/catalog.ts'
import { URGENCIES, type Urgency } from './window.ts'

export const RELEASES_SCHEMA = 'releases-record.schema.json'
export const CATALOG_SCHEMA = 'catalog.schema.json'

export interface WatchedRelease {
  tag: string
  version: OpenclawVersion
  channel: Channel
  /** upstream release time */
  publishedAt: string
  firstSeenAt: string | null
  urgency: Urgency
  dueBy: string
}

export interface PublishedImage {
  tag: string
  version: OpenclawVersion
  channel: Channel
  digest: string
  urgency: Urgency | null
  /** upstream release time of `tag` */
  releasedAt: string
  /** when the image entered the catalog */
  publishedAt: string
}

/** An image withdrawn with `clawbake revoke`. */
export interface Revocation {
  channel: Channel
  /** OpenClaw tag */
  tag: string
  /** the store's immutable tag */
  image: string | null
  manifestDigest: string | null
  at: string
  who: string
  reason: string
}

export interface SlaRecords {
  releases: WatchedRelease[]
  published: PublishedImage[]
  revocations: Revocation[]
  /** files read, relative to the project root, in the order read */
  files: string[]
  /** files that were expected but are not there yet */
  missing: string[]
}

const RULE = 'sla.record-invalid'

export function releasesFile(root: string): string {
  return join(root, 'catalog', 'releases.json')
}

export function catalogFile(root: string, channel: Channel): string {
  return join(root, 'catalog', `${channel}.json`)
}

/** Read catalog/releases.json and every catalog/<channel>.json under `root`. */
export function readSlaRecords(root: string): SlaRecords {
  const out: SlaRecords = { releases: [], published: [], revocations: [], files: [], missing: [] }
  const rf = releasesFile(root)
  const releases = readJson(rf)
  if (releases === undefined) out.missing.push('catalog/releases.json')
  else {
    out.files.push('catalog/releases.json')
    out.releases = parseReleases(releases, rf)
  }
  for (const channel of CHANNELS) {
    const cf = catalogFile(root, channel)
    const catalog = readJson(cf)
    if (catalog === undefined) {
      out.missing.push(`catalog/${channel}.json`)
      continue
    }
    out.files.push(`catalog/${channel}.json`)
    out.published.push(...parseCatalog(catalog, cf, channel))
    out.revocations.push(...catalogRevocations(catalog as Catalog, channel))
  }
  return out
}

/** The parsed JSON of `file`, or undefined when the file does not exist. */
function readJson(file: string): unknown {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return undefined
    throw new ClawbakeError(`cannot read (${code})`, { file, rule: 'sla.record-unreadable' }, 2)
  }
  try {
    return JSON.parse(text)
  } catch (e) {
    throw new ClawbakeError(`not valid JSON: ${(e as Error).message}`, { file, rule: RULE })
  }
}

/** Validate against schemas/<name> (the shared record schemas), then the fields the SLA reads. */
function schemaCheck(name: string, value: unknown, file: string): void {
  assertSchema(name, value, file, RULE)
}

export function parseReleases(value: unknown, file: string): WatchedRelease[] {
  schemaCheck(RELEASES_SCHEMA, value, file)
  const doc = object(value, file, '/')
  if (doc.schemaVersion !== 1) fail(file, '/schemaVersion', 'must be 1')
  const list = array(doc.releases, file, '/releases')
  const seen = new Set<string>()
  return list.map((raw, i) => {
    const at = `/releases/${i}`
    const e = object(raw, file, at)
    const tag = string(e.tag, file, `${at}/tag`)
    const version = parseVersion(tag, { file, field: `${at}/tag` })
    if (seen.has(version.version)) fail(file, `${at}/tag`, `tag ${tag} is recorded twice (one entry per tag)`)
    seen.add(version.version)
    const publishedAt = timestamp(e.publishedAt, file, `${at}/publishedAt`)
    const dueBy = timestamp(e.dueBy, file, `${at}/dueBy`)
    if (Date.parse(dueBy) < Date.parse(publishedAt)) fail(file, `${at}/dueBy`, `due ${dueBy} before the release was published (${publishedAt})`)
    return {
      tag: version.version,
      version,
      channel: channel(e.channel, file, `${at}/channel`),
      publishedAt,
      firstSeenAt: e.firstSeenAt === undefined ? null : timestamp(e.firstSeenAt, file, `${at}/firstSeenAt`),
      urgency: urgency(e.urgency, file, `${at}/urgency`, false) as Urgency,
      dueBy,
    }
  })
}

export function parseCatalog(value: unknown, file: string, expected: Channel): PublishedImage[] {
  schemaCheck(CATALOG_SCHEMA, value, file)
  const doc = object(value, file, '/')
  if (doc.schemaVersion !== 1) fail(file, '/schemaVersion', 'must be 1')
  const ch = channel(doc.channel, file, '/channel')
  if (ch !== expected) fail(file, '/channel', `is "${ch}" but the file is the ${expected} catalog`)
  // an entry held back (not moved to) carries nothing until the channel first moves to it
  return array(doc.entries, file, '/entries').flatMap((raw, i) => {
    const at = `/entries/${i}`
    const e = object(raw, file, at)
    const tag = string(e.tag, file, `${at}/tag`)
    const version = parseVersion(tag, { file, field: `${at}/tag` })
    const releasedAt = timestamp(e.releasedAt, file, `${at}/releasedAt`)
    const moved = firstMovedAt(value as Catalog, i)
    if (moved === null) return []
    const publishedAt = timestamp(e.held ? moved : e.publishedAt, file, `${at}/publishedAt`)
    if (Date.parse(publishedAt) < Date.parse(releasedAt)) fail(file, `${at}/publishedAt`, `image published ${publishedAt} before its release (${releasedAt})`)
    return [{
      tag: version.version,
      version,
      channel: ch,
      digest: string(e.digest, file, `${at}/digest`),
      urgency: urgency(e.urgency, file, `${at}/urgency`, true),
      releasedAt,
      publishedAt,
    }]
  })
}

export function catalogRevocations(catalog: Catalog, channel: Channel): Revocation[] {
  return (catalog.events ?? []).filter(e => e.action === 'revoke').map(e => ({
    channel, tag: e.tag, image: catalog.entries[e.entry]?.store?.tag ?? null, manifestDigest: e.manifestDigest, at: e.at, who: e.who, reason: e.reason,
  }))
}

function fail(file: string, field: string, message: string): never {
  throw new ClawbakeError(message, { file, field, rule: RULE })
}

function object(v: unknown, file: string, field: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(file, field, 'must be an object')
  return v as Record<string, unknown>
}

function array(v: unknown, file: string, field: string): unknown[] {
  if (!Array.isArray(v)) fail(file, field, 'must be an array')
  return v
}

function string(v: unknown, file: string, field: string): string {
  if (typeof v !== 'string' || v === '') fail(file, field, 'must be a non-empty string')
  return v
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/

function timestamp(v: unknown, file: string, field: string): string {
  const s = string(v, file, field)
  if (!ISO.test(s) || Number.isNaN(Date.parse(s))) fail(file, field, `"${s}" is not an ISO 8601 date-time with a time zone`)
  return new Date(Date.parse(s)).toISOString()
}

function channel(v: unknown, file: string, field: string): Channel {
  if (!CHANNELS.includes(v as Channel)) fail(file, field, `must be one of ${CHANNELS.join(', ')}`)
  return v as Channel
}

function urgency(v: unknown, file: string, field: string, nullable: boolean): Urgency | null {
  if (nullable && v === null) return null
  if (!URGENCIES.includes(v as Urgency)) fail(file, field, `must be ${URGENCIES.join(' or ')}${nullable ? ' or null' : ''}`)
  return v as Urgency
}
