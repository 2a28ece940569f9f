// Time-to-patch per release: from the upstream release to the first image on
// its channel that carries it. A release is carried by the image of its own
// tag or of any later tag on the same channel (a release that was skipped
// because a newer one came out is patched when the newer image is published).
//
// breached: published after dueBy, or still open and now past dueBy.
import type { Channel } from '../releases/version.ts'
import { compareVersions } from '../releases/version.ts'
import type { PublishedImage, Revocation, SlaRecords, WatchedRelease } from './records.ts'
import { dueByFor, hoursBetween, SLA_HOURS, type Urgency } from './window.ts'

export interface SlaRelease {
  tag: string
  channel: Channel
  /** null: published without a watch decision (no SLA applies) */
  urgency: Urgency | null
  /** upstream release time */
  releasedAt: string
  dueBy: string | null
  /** when the first image carrying this release was published; null while open */
  publishedAt: string | null
  /** the catalog tag whose image carried it (this tag, or a later one) */
  patchedBy: string | null
  /** time-to-patch in hours when published; hours open so far when not */
  hours: number
  state: 'patched' | 'open'
  /** open only: hours until dueBy (negative when overdue) */
  remainingHours: number | null
  breached: boolean
}

export interface SlaReport {
  ok: boolean
  now: string
  windows: { criticalHours: number; routineHours: number }
  releases: SlaRelease[]
  open: Pick<SlaRelease, 'tag' | 'channel' | 'urgency' | 'releasedAt' | 'dueBy' | 'hours' | 'remainingHours' | 'breached'>[]
  breaches: { critical: number; routine: number; total: number }
  /** images withdrawn with `clawbake revoke`, newest first */
  revocations: Revocation[]
  sources: { read: string[]; missing: string[] }
}

export interface SlaFilter {
  channel?: Channel
  /** only releases not yet carried by a published image */
  openOnly?: boolean
}

interface Candidate {
  tag: string
  version: WatchedRelease['version']
  channel: Channel
  urgency: Urgency | null
  releasedAt: string
  dueBy: string | null
}

export function slaReport(all: SlaRecords, now: Date, filter: SlaFilter = {}): SlaReport {
  // The report is as of `now`: what was released or published later has not
  // happened yet (so `--at` reproduces a past report exactly).
  const t = now.getTime()
  const records: SlaRecords = {
    ...all,
    releases: all.releases.filter(r => Date.parse(r.publishedAt) <= t),
    published: all.published.filter(p => Date.parse(p.publishedAt) <= t),
  }
  const candidates = new Map<string, Candidate>()
  const key = (channel: Channel, tag: string) => `${channel}\u0000${tag}`
  // What watch decided comes first: its urgency and dueBy are the authority
  // (an advisory published after the release can move dueBy earlier).
  for (const r of records.releases) {
    candidates.set(key(r.channel, r.tag), {
      tag: r.tag, version: r.version, channel: r.channel, urgency: r.urgency, releasedAt: r.publishedAt, dueBy: r.dueBy,
    })
  }
  // A published image of a tag watch never recorded (baked by hand or forced)
  // is still a release with a time-to-patch; its window follows its urgency.
  for (const p of records.published) {
    const k = key(p.channel, p.tag)
    if (candidates.has(k)) continue
    candidates.set(k, {
      tag: p.tag, version: p.version, channel: p.channel, urgency: p.urgency, releasedAt: p.releasedAt,
      dueBy: p.urgency ? dueByFor(p.releasedAt, p.urgency) : null,
    })
  }

  const rows: SlaRelease[] = []
  for (const c of candidates.values()) {
    if (filter.channel && c.channel !== filter.channel) continue
    const carrier = firstCarrier(c, records.published)
    const breachedAt = c.dueBy ? Date.parse(c.dueBy) : Infinity
    const row: SlaRelease = carrier
      ? {
          tag: c.tag, channel: c.channel, urgency: c.urgency, releasedAt: c.releasedAt, dueBy: c.dueBy,
          publishedAt: carrier.publishedAt, patchedBy: carrier.tag,
          // an image of a later tag that was already out when this release
          // appeared carried it from the start: 0 h, never negative
          hours: Math.max(0, hoursBetween(c.releasedAt, carrier.publishedAt)),
          state: 'patched', remainingHours: null,
          breached: Date.parse(carrier.publishedAt) > breachedAt,
        }
      : {
          tag: c.tag, channel: c.channel, urgency: c.urgency, releasedAt: c.releasedAt, dueBy: c.dueBy,
          publishedAt: null, patchedBy: null,
          hours: hoursBetween(c.releasedAt, now),
          state: 'open', remainingHours: c.dueBy ? hoursBetween(now, c.dueBy) : null,
          breached: now.getTime() > breachedAt,
        }
    if (filter.openOnly && row.state !== 'open') continue
    rows.push(row)
  }
  // Newest release first; ties (same instant) by version, newest first.
  rows.sort((a, b) => Date.parse(b.releasedAt) - Date.parse(a.releasedAt) || compareVersions(versionOf(b, candidates), versionOf(a, candidates)))

  const breaches = { critical: 0, routine: 0, total: 0 }
  for (const r of rows) {
    if (!r.breached || !r.urgency) continue
    breaches[r.urgency]++
    breaches.total++
  }
  return {
    ok: breaches.total === 0,
    now: now.toISOString(),
    windows: { criticalHours: SLA_HOURS.critical, routineHours: SLA_HOURS.routine },
    releases: rows,
    open: rows
      .filter(r => r.state === 'open')
      .map(({ tag, channel, urgency, releasedAt, dueBy, hours, remainingHours, breached }) => ({ tag, channel, urgency, releasedAt, dueBy, hours, remainingHours, breached })),
    breaches,
    revocations: (all.revocations ?? [])
      .filter(r => Date.parse(r.at) <= t && (!filter.channel || r.channel === filter.channel))
      .sort((a, b) => Date.parse(b.at) - Date.parse(a.at)),
    sources: { read: records.files, missing: records.missing },
  }

  function versionOf(r: SlaRelease, all: Map<string, Candidate>) {
    return (all.get(key(r.channel, r.tag)) as Candidate).version
  }
}

/** The earliest published image on the release's channel whose tag is the release or later. */
function firstCarrier(c: Candidate, published: readonly PublishedImage[]): PublishedImage | null {
  let best: PublishedImage | null = null
  for (const p of published) {
    if (p.channel !== c.channel || compareVersions(p.version, c.version) < 0) continue
    if (!best || Date.parse(p.publishedAt) < Date.parse(best.publishedAt)) best = p
  }
  return best
}
