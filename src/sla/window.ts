// The patch SLA: how long after an upstream release its image must be
// published. Critical (a security fix the current pin is exposed to): the same
// day, 24 h. Routine: within a week, 7 days (168 h).
//
// The windows are watch's (src/releases/urgency.ts: DUE_HOURS, dueBy), not a
// second copy: watch records dueBy in catalog/releases.json with the same
// numbers, and the SLA report trusts a recorded dueBy; the windows only apply
// directly to a published entry that has no watch record.
import { DUE_HOURS, dueBy, type Urgency } from '../releases/urgency.ts'

export type { Urgency }
export const URGENCIES: readonly Urgency[] = ['critical', 'routine']

export const SLA_HOURS: Readonly<Record<Urgency, number>> = DUE_HOURS

const HOUR_MS = 3_600_000

/** releasedAt + the window of `urgency`, as an ISO timestamp. */
export function dueByFor(releasedAt: string, urgency: Urgency): string {
  return dueBy(releasedAt, urgency)
}

/** Hours from `from` to `to` (negative when `to` is earlier), to 0.01 h. */
export function hoursBetween(from: string | Date, to: string | Date): number {
  const a = typeof from === 'string' ? Date.parse(from) : from.getTime()
  const b = typeof to === 'string' ? Date.parse(to) : to.getTime()
  return Math.round(((b - a) / HOUR_MS) * 100) / 100
}
