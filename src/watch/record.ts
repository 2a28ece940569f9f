// catalog/releases.json: every release watch decided to bake, with when it
// was first seen, its urgency and due date (schemas/releases-record.schema.json).
// One entry per tag. A later poll may upgrade urgency (routine -> critical)
// and move dueBy earlier, never the reverse; firstSeenAt never changes.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ClawbakeError } from '../errors.ts'
import { writeFileAtomic } from '../atomic.ts'
import type { AdvisoryRef } from '../releases/advisory.ts'
import type { Urgency } from '../releases/urgency.ts'
import type { Channel } from '../releases/version.ts'
import { assertSchema } from '../schema/assert.ts'

export const RELEASES_SCHEMA = 'releases-record.schema.json'

export interface ReleaseEntry {
  tag: string
  channel: Channel
  publishedAt: string
  url: string
  firstSeenAt: string
  urgency: Urgency
  dueBy: string
  advisories: AdvisoryRef[]
  reasons?: string[]
}

export interface ReleasesRecord {
  schemaVersion: 1
  releases: ReleaseEntry[]
}

export function releasesRecordPath(catalogDir: string): string {
  return join(catalogDir, 'releases.json')
}

/** Read and validate catalog/releases.json; missing is an empty record, corrupt is one clear error. */
export function readReleasesRecord(file: string): ReleasesRecord {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { schemaVersion: 1, releases: [] }
    throw new ClawbakeError(`cannot read the release record (${(e as NodeJS.ErrnoException).code})`, { file, rule: 'watch.record-unreadable' }, 2)
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (e) {
    throw new ClawbakeError(`release record is not valid JSON: ${(e as Error).message}`, { file, rule: 'watch.record-corrupt' })
  }
  const record = assertSchema<ReleasesRecord>(RELEASES_SCHEMA, value, file, 'watch.record-corrupt')
  const seen = new Set<string>()
  record.releases.forEach((r, i) => {
    if (seen.has(r.tag)) throw new ClawbakeError(`tag ${r.tag} is recorded twice: one entry per tag`, { file, field: `/releases/${i}/tag`, rule: 'watch.record-corrupt' })
    seen.add(r.tag)
  })
  return record
}

/**
 * Merge what this poll found into the record. Returns the new record and
 * whether anything changed. Urgency only goes up, dueBy only earlier,
 * advisories only accumulate; firstSeenAt, publishedAt and url stay as first recorded.
 */
export function mergeRelease(record: ReleasesRecord, found: ReleaseEntry): { record: ReleasesRecord; entry: ReleaseEntry; changed: boolean } {
  const i = record.releases.findIndex(r => r.tag === found.tag)
  if (i < 0) return { record: { ...record, releases: [...record.releases, found] }, entry: found, changed: true }
  const old = record.releases[i] as ReleaseEntry
  const urgency: Urgency = old.urgency === 'critical' || found.urgency === 'critical' ? 'critical' : 'routine'
  const dueBy = Date.parse(found.dueBy) < Date.parse(old.dueBy) ? found.dueBy : old.dueBy
  const advisories = [...old.advisories]
  for (const a of found.advisories) if (!advisories.some(b => b.ghsaId === a.ghsaId)) advisories.push(a)
  const reasons = [...(old.reasons ?? [])]
  for (const r of found.reasons ?? []) if (!reasons.includes(r)) reasons.push(r)
  const entry: ReleaseEntry = { ...old, urgency, dueBy, advisories, ...(reasons.length ? { reasons } : {}) }
  const changed = JSON.stringify(entry) !== JSON.stringify(old)
  const releases = [...record.releases]
  releases[i] = entry
  return { record: { ...record, releases }, entry, changed }
}

export function writeReleasesRecord(file: string, record: ReleasesRecord): void {
  assertSchema(RELEASES_SCHEMA, record, file, 'watch.record-invalid')
  writeFileAtomic(file, JSON.stringify(record, null, 2) + '\n')
}
