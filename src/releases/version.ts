// The OpenClaw version scheme (upstream docs/reference/releasing/versioning.md):
//   vYYYY.M.PATCH            stable release (PATCH >= 33: extended-stable line)
//   vYYYY.M.PATCH-beta.N     prerelease (also -alpha.N); never baked by default
//   vYYYY.M.PATCH-N          CORRECTION published after its base: a stable release
//                            that sorts AFTER vYYYY.M.PATCH (semver gets this wrong)
// Anything else is rejected, never guessed.
import semver from 'semver'
import { ClawbakeError } from '../errors.ts'

export type Channel = 'stable' | 'extended-stable'
export const CHANNELS: readonly Channel[] = ['stable', 'extended-stable']

/** PATCH at or above this is the monthly extended-stable line. */
export const EXTENDED_STABLE_MIN_PATCH = 33

/** Security floor: CVE-2026-25253 (GHSA-g8p2-7wf7-98mq) fixed in 2026.1.29. Nothing below is ever eligible. */
export const SECURITY_FLOOR = '2026.1.29'

export interface OpenclawVersion {
  /** canonical version without the `v`: the Docker tag, e.g. `2026.3.23-1` */
  readonly version: string
  /** the Git tag, e.g. `v2026.3.23-1` */
  readonly tag: string
  readonly year: number
  readonly month: number
  readonly patch: number
  /** `-alpha.N` / `-beta.N`, or null */
  readonly pre: { readonly kind: 'alpha' | 'beta'; readonly n: number } | null
  /** N of a `-N` correction, 0 when none */
  readonly correction: number
  readonly prerelease: boolean
  readonly channel: Channel
}

const VERSION_RE = /^v?([0-9]{4})\.([1-9][0-9]*)\.([1-9][0-9]*)(?:-(alpha|beta)\.([1-9][0-9]*)|-([1-9][0-9]*))?$/

export function tryParseVersion(input: string): OpenclawVersion | null {
  const m = VERSION_RE.exec(input.trim())
  if (!m) return null
  const year = Number(m[1])
  const month = Number(m[2])
  const patch = Number(m[3])
  if (month > 12) return null
  const pre = m[4] ? { kind: m[4] as 'alpha' | 'beta', n: Number(m[5]) } : null
  const correction = m[6] ? Number(m[6]) : 0
  if (![year, month, patch, pre?.n ?? 0, correction].every(Number.isSafeInteger)) return null
  const suffix = pre ? `-${pre.kind}.${pre.n}` : correction ? `-${correction}` : ''
  const version = `${year}.${month}.${patch}${suffix}`
  return {
    version,
    tag: `v${version}`,
    year,
    month,
    patch,
    pre,
    correction,
    prerelease: pre !== null,
    channel: patch >= EXTENDED_STABLE_MIN_PATCH ? 'extended-stable' : 'stable',
  }
}

/** Parse or throw one clear error naming the input and the rule. */
export function parseVersion(input: string, where: { file?: string; field?: string } = {}): OpenclawVersion {
  const v = tryParseVersion(input)
  if (!v) {
    throw new ClawbakeError(
      `"${input}" is not an OpenClaw version: expected vYYYY.M.PATCH with an optional -beta.N, -alpha.N ` +
        'or -N correction suffix (month 1-12, no leading zeros)',
      { ...where, rule: 'version.malformed' },
      where.file ? 1 : 2,
    )
  }
  return v
}

function rank(v: OpenclawVersion): [number, number, number] {
  // prereleases before the base release, the base before its corrections.
  if (v.pre) return [0, v.pre.kind === 'alpha' ? 0 : 1, v.pre.n]
  return [1, v.correction, 0]
}

/** Total order of OpenClaw versions: negative when a < b. */
export function compareVersions(a: OpenclawVersion, b: OpenclawVersion): number {
  const keys = [a.year - b.year, a.month - b.month, a.patch - b.patch]
  const ra = rank(a)
  const rb = rank(b)
  keys.push(ra[0] - rb[0], ra[1] - rb[1], ra[2] - rb[2])
  return keys.find(k => k !== 0) ?? 0
}

export function sortVersions<T extends OpenclawVersion>(versions: readonly T[]): T[] {
  return [...versions].sort(compareVersions)
}

const floor = tryParseVersion(SECURITY_FLOOR) as OpenclawVersion

export function belowFloor(v: OpenclawVersion): boolean {
  return compareVersions(v, floor) < 0
}

export interface EligibilityOptions {
  channel: Channel
  /** bake a -beta/-alpha only when explicitly forced; the floor is never forced */
  allowPrerelease?: boolean
}

/** Why `v` may not be baked on `channel`, or null when it may. */
export function ineligibility(v: OpenclawVersion, opts: EligibilityOptions): string | null {
  if (belowFloor(v)) return `${v.version} is below the security floor ${SECURITY_FLOOR} (CVE-2026-25253)`
  if (v.prerelease && !opts.allowPrerelease) return `${v.version} is a prerelease (-${v.pre?.kind}.${v.pre?.n})`
  if (v.channel !== opts.channel) return `${v.version} is on the ${v.channel} line, not ${opts.channel}`
  return null
}

/**
 * Does `v` satisfy a version range as GitHub advisories write them
 * (">= 2026.1.29", "< 2026.3.23, >= 2026.1.1", "2026.4.22", "a || b")?
 * semver parses the grammar; the ordering is OpenClaw's, so a `-N` correction
 * counts as after its base release, not as a prerelease of it.
 */
export function satisfiesRange(v: OpenclawVersion, range: string): boolean {
  const normalized = range.replace(/,/g, ' ').replace(/\bv(?=\d)/g, '').trim()
  if (!normalized) return false
  let parsed: semver.Range
  try {
    parsed = new semver.Range(normalized, { loose: true })
  } catch {
    return false
  }
  return parsed.set.some(comparators =>
    comparators.every(c => {
      if (c.value === '') return true // the match-anything comparator
      const bound = tryParseVersion(c.semver.version)
      if (!bound) return false
      const d = compareVersions(v, bound)
      switch (c.operator) {
        case '<': return d < 0
        case '<=': return d <= 0
        case '>': return d > 0
        case '>=': return d >= 0
        case '':
        case '=': return d === 0
        default: return false
      }
    }),
  )
}
