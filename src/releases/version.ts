// The OpenClaw version scheme (upstream docs/reference/releasing/versioning.md):
//   vYYYY.M.PATCH            stable release (PATCH >= 33: extended-stable line)
//   vYYYY.M.PATCH-beta.N     prerelease (also -alpha.N); never baked by default
//   vYYYY.M.PATCH-N          CORRECTION published after its base: a stable release
//                            that sorts AFTER vYYYY.M.PATCH (semver gets this wrong)
// Anything else is rejected, never guessed.
// the Range class alone, not all of semver's functions and range helpers
import Range from 'semver/classes/range.js'
import type { SemVer } from 'semver'
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

// A version as a sort key: [year, month, patch, stage, a, b] where stage is
// -1 for semver's `-0` range sentinel (below every prerelease of that
// x.y.z), 0 prerelease (a = alpha 0 / beta 1, b = N), 1 release (a = the
// correction N, 0 for the base). Corrections sort after their base.
type VersionKey = [number, number, number, number, number, number]

function versionKey(v: OpenclawVersion): VersionKey {
  if (v.pre) return [v.year, v.month, v.patch, 0, v.pre.kind === 'alpha' ? 0 : 1, v.pre.n]
  return [v.year, v.month, v.patch, 1, v.correction, 0]
}

function compareKeys(a: VersionKey, b: VersionKey): number {
  for (let i = 0; i < a.length; i++) {
    const d = (a[i] as number) - (b[i] as number)
    if (d !== 0) return d
  }
  return 0
}

/** Total order of OpenClaw versions: negative when a < b. */
export function compareVersions(a: OpenclawVersion, b: OpenclawVersion): number {
  return compareKeys(versionKey(a), versionKey(b))
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
 * A range bound as semver desugars it. Advisories and ranges use bounds that
 * are not OpenClaw releases (`< 2026.4.0`, `2026.3.x` -> `<2026.4.0-0`,
 * `^2026.1.29` -> `<2027.0.0-0`): they still order against real versions.
 * A prerelease tag that is not OpenClaw's (`-rc.1`) is not guessed: null.
 */
function boundKey(b: SemVer): VersionKey | null {
  const pre = b.prerelease
  if (pre.length === 0) return [b.major, b.minor, b.patch, 1, 0, 0]
  if (pre.length === 1 && pre[0] === 0) return [b.major, b.minor, b.patch, -1, 0, 0]
  if (pre.length === 1 && typeof pre[0] === 'number') return [b.major, b.minor, b.patch, 1, pre[0], 0]
  if (pre.length === 2 && (pre[0] === 'alpha' || pre[0] === 'beta') && typeof pre[1] === 'number') {
    return [b.major, b.minor, b.patch, 0, pre[0] === 'alpha' ? 0 : 1, pre[1]]
  }
  return null
}

function parseRange(range: string): Range | null {
  const normalized = range.replace(/,/g, ' ').replace(/\bv(?=\d)/g, '').trim()
  if (!normalized) return null
  try {
    const parsed = new Range(normalized, { loose: true })
    const bounded = parsed.set.every(comparators => comparators.every(c => c.value === '' || boundKey(c.semver) !== null))
    return bounded ? parsed : null
  } catch {
    return null
  }
}

/**
 * Is `range` a version range this module can evaluate? Callers deciding
 * about security use it to fail closed instead of reading `false` from
 * satisfiesRange as "not affected".
 */
export function isVersionRange(range: string): boolean {
  return parseRange(range) !== null
}

/**
 * Does `v` satisfy a version range as GitHub advisories write them
 * (">= 2026.1.29", "< 2026.3.23, >= 2026.1.1", "<= 2026.2.21-2",
 * "2026.4.22", "a || b", and x/caret/tilde ranges)? semver parses the
 * grammar; the ordering is OpenClaw's, so a `-N` correction counts as after
 * its base release, not as a prerelease of it. An empty or unparseable range
 * is satisfied by nothing (see isVersionRange).
 */
export function satisfiesRange(v: OpenclawVersion, range: string): boolean {
  const parsed = parseRange(range)
  if (!parsed) return false
  const key = versionKey(v)
  return parsed.set.some(comparators =>
    comparators.every(c => {
      if (c.value === '') return true // the match-anything comparator
      const bound = boundKey(c.semver)
      if (!bound) return false
      const d = compareKeys(key, bound)
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
