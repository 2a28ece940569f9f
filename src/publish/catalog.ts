// catalog/<channel>.json: the images published on a channel, oldest first.
// Entries are only appended. An entry pushed to the image store carries
// `store` {reference, manifest digest, qcow2 sha256, size}, recorded only
// after the push was verified; `held` marks one recorded without moving the
// channel (the boot test had not passed). `events` says, in order, who moved
// the channel to which entry and why (publish, set, fallback) and who revoked
// what; the channel's current image is where the last move left it (a
// catalog without events: its last entry that is not held).
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ClawbakeError } from '../errors.ts'
import type { GateReport } from '../bake/contract.ts'
import type { Channel } from '../releases/version.ts'
import { assertSchema } from '../schema/assert.ts'

export const CATALOG_SCHEMA = 'catalog.schema.json'

export interface CatalogArtifact {
  builder: 'qemu' | 'amazon-ebs' | 'null'
  id: string
  sha256: string | null
  sizeBytes: number | null
}

/** Where the image lives in the OCI registry, recorded after the push was verified. */
export interface StoreRecord {
  /** `ghcr.io/owner/clawbake-images:2026.9.6-<bake id>@sha256:...` */
  reference: string
  /** `ghcr.io/owner/clawbake-images` */
  repository: string
  /** the immutable tag, `<openclaw tag>-<bake id>` */
  tag: string
  manifestDigest: string
  layerDigest: string
  /** hex sha256 of the qcow2 */
  sha256: string
  sizeBytes: number
  verifiedAt: string
}

export type EventAction = 'publish' | 'set' | 'revoke' | 'fallback'

export interface CatalogEvent {
  at: string
  action: EventAction
  /** index into entries (stable: entries are only appended) */
  entry: number
  /** for people: the entry's OpenClaw tag and image digest */
  tag: string
  manifestDigest: string | null
  who: string
  reason: string
}

export interface CatalogEntry {
  tag: string
  image?: string
  digest: string
  platforms: { os: string; architecture: string; variant?: string; digest: string }[]
  artifact: CatalogArtifact
  gates: GateReport
  urgency: 'critical' | 'routine' | null
  releasedAt: string
  bakeStartedAt: string
  publishedAt: string
  timeToPatchHours: number
  bakeId?: string
  notes?: string
  store?: StoreRecord
  /** recorded without moving the channel (pushed and verified, boot test not passed) */
  held?: true
  /** why it is held when that was asked for (`--no-boot-test`) */
  heldReason?: string
  /** the build VM's machine-id and SSH host key fingerprints (the boot test compares a client's VM with them) */
  buildVm?: { machineId: string; hostKeys: string[] }
  /** the captured image booted fresh as a client's VM: its report (mode boot) and wall time */
  bootTest?: { report: GateReport; wallMs: number; identity: { machineId: string; hostKeys: string[] } | null }
}

export interface Catalog {
  schemaVersion: 1
  channel: Channel
  entries: CatalogEntry[]
  events?: CatalogEvent[]
}

const MOVES: readonly EventAction[] = ['publish', 'set', 'fallback']

/** Index of the channel's current entry, or null (nothing published, or the current one revoked with nothing to fall back to). */
export function currentIndex(catalog: Catalog): number | null {
  const events = catalog.events ?? []
  if (!events.length) {
    for (let i = catalog.entries.length - 1; i >= 0; i--) if (!catalog.entries[i]!.held) return i
    return null
  }
  let current: number | null = null
  for (const e of events) {
    if (MOVES.includes(e.action)) current = e.entry
    else if (e.action === 'revoke' && e.entry === current) current = null
  }
  return current
}

export function isRevoked(catalog: Catalog, index: number): boolean {
  return (catalog.events ?? []).some(e => e.action === 'revoke' && e.entry === index)
}

/** When the channel first moved to this entry (publishedAt for one that was not held). */
export function firstMovedAt(catalog: Catalog, index: number): string | null {
  const entry = catalog.entries[index]
  if (entry && !entry.held) return entry.publishedAt
  return (catalog.events ?? []).find(e => MOVES.includes(e.action) && e.entry === index)?.at ?? null
}

/** A revoked image with this manifest digest or qcow2 sha256, if any. */
export function revokedMatch(catalog: Catalog, digests: { manifestDigest?: string; sha256?: string }): CatalogEntry | undefined {
  return catalog.entries.find((e, i) => e.store && isRevoked(catalog, i) &&
    ((digests.manifestDigest && e.store.manifestDigest === digests.manifestDigest) || (digests.sha256 && e.store.sha256 === digests.sha256)))
}

/**
 * Entries a person means by `ref`: a manifest digest, an immutable store tag,
 * or an OpenClaw tag (newest first). Only entries in the image store.
 */
export function matchEntries(catalog: Catalog, ref: string): number[] {
  const out: number[] = []
  catalog.entries.forEach((e, i) => {
    if (!e.store) return
    if (ref.startsWith('sha256:') ? e.store.manifestDigest === ref : e.store.tag === ref || e.tag === ref) out.push(i)
  })
  return out.reverse()
}

/** The newest entry the channel may fall back to: not revoked, not held unless the channel was once moved to it. */
export function fallbackIndex(catalog: Catalog, except: number): number | null {
  for (let i = catalog.entries.length - 1; i >= 0; i--) {
    if (i === except || isRevoked(catalog, i)) continue
    if (firstMovedAt(catalog, i) !== null) return i
  }
  return null
}

/** Who did it, for the record: the GitHub actor in a workflow, else the login user. */
export function actor(env: Record<string, string | undefined>): string {
  return env.GITHUB_ACTOR || env.USER || env.LOGNAME || 'unknown'
}

export function eventFor(catalog: Catalog, index: number, action: EventAction, who: string, reason: string, at: string): CatalogEvent {
  const e = catalog.entries[index]!
  return { at, action, entry: index, tag: e.tag, manifestDigest: e.store?.manifestDigest ?? null, who, reason }
}

export function catalogPath(root: string, channel: Channel): string {
  return join(root, 'catalog', `${channel}.json`)
}

/** Read (and validate) a channel catalog; a missing file is an empty catalog. */
export function readCatalog(root: string, channel: Channel): Catalog {
  const file = catalogPath(root, channel)
  if (!existsSync(file)) return { schemaVersion: 1, channel, entries: [] }
  let value: unknown
  try {
    value = JSON.parse(readFileSync(file, 'utf8'))
  } catch (e) {
    throw new ClawbakeError(`not valid JSON: ${(e as Error).message}`, { file, rule: 'catalog.corrupt' })
  }
  const catalog = assertSchema<Catalog>(CATALOG_SCHEMA, value, file, 'catalog.corrupt')
  if (catalog.channel !== channel) throw new ClawbakeError(`is the ${catalog.channel} catalog, expected ${channel}`, { file, field: '/channel', rule: 'catalog.corrupt' })
  ;(catalog.events ?? []).forEach((e, i) => {
    if (e.entry >= catalog.entries.length) throw new ClawbakeError(`names entry ${e.entry}, but there are ${catalog.entries.length}`, { file, field: `/events/${i}/entry`, rule: 'catalog.corrupt' })
  })
  return catalog
}

/** The entry already published for exactly this tag and digest, if any (the bake is then a no-op). */
export function findPublished(catalog: Catalog, tag: string, digest: string): CatalogEntry | undefined {
  return [...catalog.entries].reverse().find(e => e.tag === tag && e.digest === digest)
}

export function hoursBetween(fromIso: string, toIso: string): number {
  return Math.round(((Date.parse(toIso) - Date.parse(fromIso)) / 3_600_000) * 100) / 100
}
