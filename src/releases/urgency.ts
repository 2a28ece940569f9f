// How urgently a release must be baked. Critical when it fixes something the
// current pin is exposed to and that something is serious: a published
// critical/high advisory whose vulnerable range holds the pin and whose
// patched versions hold the release, or release notes (of any release the pin
// lacks, up to this one) naming a GHSA/CVE id or saying "security", "RCE",
// "remote code execution", "auth bypass"; or a pin below the security floor.
// Otherwise routine. dueBy = release time + 24 h (critical) or + 7 days.
import { advisoryRef, exposes, patchedIn, severityOf, type AdvisoryRef, type GithubAdvisory } from './advisory.ts'
import { releasesBetween, type Release } from './release.ts'
import { belowFloor, SECURITY_FLOOR, type OpenclawVersion } from './version.ts'

export type Urgency = 'critical' | 'routine'

export const DUE_HOURS: Record<Urgency, number> = { critical: 24, routine: 7 * 24 }

export interface Assessment {
  urgency: Urgency
  /** ISO time: publishedAt + 24 h (critical) or + 7 days (routine) */
  dueBy: string
  /** published advisories the pin is exposed to and the release fixes, any severity */
  advisories: AdvisoryRef[]
  /** why critical (empty when routine) */
  reasons: string[]
}

const ADVISORY_ID = /\b(GHSA(?:-[0-9a-z]{4}){3}|CVE-\d{4}-\d{4,})\b/gi
const KEYWORDS: readonly [RegExp, string][] = [
  [/\bsecurity\b/i, 'security'],
  [/\bRCE\b/, 'RCE'],
  [/\bremote code execution\b/i, 'remote code execution'],
  [/\bauth(?:entication)?[ -]?bypass/i, 'auth bypass'],
]

/** GHSA-xxxx-xxxx-xxxx (lower-case body, as GitHub writes it) or CVE-YYYY-N. */
export function normalizeId(id: string): string {
  return /^ghsa-/i.test(id) ? `GHSA-${id.slice(5).toLowerCase()}` : id.toUpperCase()
}

export function dueBy(publishedAt: string, urgency: Urgency): string {
  return new Date(Date.parse(publishedAt) + DUE_HOURS[urgency] * 3600_000).toISOString()
}

/** What the notes of one release say that makes it critical (empty when nothing). */
export function securitySignals(body: string, ignoreIds: ReadonlySet<string> = new Set()): string[] {
  const found: string[] = []
  for (const m of body.matchAll(ADVISORY_ID)) {
    const id = normalizeId(m[1] as string)
    if (!ignoreIds.has(id) && !found.includes(id)) found.push(id)
  }
  for (const [re, word] of KEYWORDS) if (re.test(body)) found.push(`"${word}"`)
  return found
}

export interface UrgencyInput {
  release: Release
  pin: OpenclawVersion
  /** every release of the repository (the notes of those the pin lacks are read) */
  releases: readonly Release[]
  /** the repository's advisories; `null` when they were not fetched this time */
  advisories: readonly GithubAdvisory[] | null
}

export function assessUrgency(input: UrgencyInput): Assessment {
  const { release, pin } = input
  const reasons: string[] = []
  const published = (input.advisories ?? []).filter(a => a.state === 'published')
  const fixed = published.filter(a => exposes(a, pin) && patchedIn(a, release.version))
  for (const a of fixed) {
    const severity = severityOf(a)
    if (severity === 'critical' || severity === 'high') {
      reasons.push(`${a.ghsa_id}${a.cve_id ? ` (${a.cve_id})` : ''}, ${severity}: ${pin.version} is vulnerable, ${release.version.version} is patched`)
    }
  }
  // ids of advisories known NOT to concern the pin are no reason for alarm in the notes.
  const harmless = new Set(
    published.filter(a => !exposes(a, pin)).flatMap(a => [a.ghsa_id, a.cve_id].filter((x): x is string => !!x).map(normalizeId)),
  )
  for (const r of releasesBetween(input.releases, pin, release.version)) {
    const signals = securitySignals(r.body, harmless)
    if (signals.length) reasons.push(`release notes of ${r.tagName} mention ${signals.join(', ')}`)
  }
  if (belowFloor(pin)) reasons.push(`the pin ${pin.version} is below the security floor ${SECURITY_FLOOR} (CVE-2026-25253)`)
  const urgency: Urgency = reasons.length ? 'critical' : 'routine'
  return { urgency, dueBy: dueBy(release.publishedAt, urgency), advisories: fixed.map(advisoryRef), reasons }
}
