// The upstream release a bake is for: publishedAt (start of the time-to-patch
// clock), URL, urgency and advisories, from catalog/releases.json (written by
// `clawbake watch`), else from one watch poll.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ClawbakeError } from '../errors.ts'

export interface ReleaseInfo {
  tag: string
  publishedAt: string
  url: string | null
  urgency: 'critical' | 'routine' | null
  dueBy: string | null
  advisories: { ghsaId: string; cveId: string | null; severity: string }[]
  /** where it came from, for the progress line */
  source: string
}

export function releasesRecordPath(root: string): string {
  return join(root, 'catalog', 'releases.json')
}

function isoOrNull(v: unknown): string | null {
  return typeof v === 'string' && !Number.isNaN(Date.parse(v)) ? new Date(v).toISOString() : null
}

/** The entry of catalog/releases.json for `tag`, or null when there is none (or no file). */
export function readReleaseRecord(root: string, tag: string): ReleaseInfo | null {
  const file = releasesRecordPath(root)
  if (!existsSync(file)) return null
  let doc: { releases?: unknown }
  try {
    doc = JSON.parse(readFileSync(file, 'utf8')) as { releases?: unknown }
  } catch (e) {
    throw new ClawbakeError(`not valid JSON: ${(e as Error).message}`, { file, rule: 'bake.releases-corrupt' })
  }
  if (!Array.isArray(doc.releases)) throw new ClawbakeError('has no releases array', { file, field: '/releases', rule: 'bake.releases-corrupt' })
  const i = doc.releases.findIndex(r => typeof r === 'object' && r !== null && String((r as { tag?: unknown }).tag ?? '').replace(/^v/, '') === tag)
  if (i < 0) return null
  const r = doc.releases[i] as Record<string, unknown>
  const publishedAt = isoOrNull(r.publishedAt)
  if (!publishedAt) throw new ClawbakeError(`release ${tag} has no valid publishedAt`, { file, field: `/releases/${i}/publishedAt`, rule: 'bake.releases-corrupt' })
  const urgency = r.urgency === 'critical' || r.urgency === 'routine' ? r.urgency : null
  const advisories = Array.isArray(r.advisories)
    ? (r.advisories as Record<string, unknown>[]).map(a => ({ ghsaId: String(a.ghsaId ?? ''), cveId: typeof a.cveId === 'string' ? a.cveId : null, severity: String(a.severity ?? '') }))
    : []
  return { tag, publishedAt, url: typeof r.url === 'string' ? r.url : null, urgency, dueBy: isoOrNull(r.dueBy), advisories, source: 'catalog/releases.json' }
}
