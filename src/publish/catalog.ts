// catalog/<channel>.json: the images published on a channel, oldest first;
// the last entry is the channel's current image. Entries are only appended.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ClawbakeError } from '../errors.ts'
import type { GateReport } from '../bake/contract.ts'
import type { Channel } from '../releases/version.ts'
import { assertSchema } from '../schema/validate.ts'

export const CATALOG_SCHEMA = 'catalog.schema.json'

export interface CatalogArtifact {
  builder: 'qemu' | 'amazon-ebs' | 'null'
  id: string
  sha256: string | null
  sizeBytes: number | null
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
}

export interface Catalog {
  schemaVersion: 1
  channel: Channel
  entries: CatalogEntry[]
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
  return catalog
}

/** The entry already published for exactly this tag and digest, if any (the bake is then a no-op). */
export function findPublished(catalog: Catalog, tag: string, digest: string): CatalogEntry | undefined {
  return [...catalog.entries].reverse().find(e => e.tag === tag && e.digest === digest)
}

export function hoursBetween(fromIso: string, toIso: string): number {
  return Math.round(((Date.parse(toIso) - Date.parse(fromIso)) / 3_600_000) * 100) / 100
}
