// GitHub repository security advisories (GET /repos/{owner}/{repo}/security-advisories)
// read against OpenClaw versions: is the pin exposed, does a release fix it?
// Where an advisory cannot be read (no range, a range that is not a version
// range) the answer fails closed: the pin counts as exposed, and a release
// counts as a fix only when its versions say so.
import { compareVersions, isVersionRange, satisfiesRange, tryParseVersion, type OpenclawVersion } from './version.ts'

export type Severity = 'critical' | 'high' | 'medium' | 'low'

/** The fields of a GitHub repository advisory that clawbake reads. */
export interface GithubAdvisory {
  ghsa_id: string
  cve_id: string | null
  severity: Severity | null
  state: string
  published_at: string | null
  summary?: string
  vulnerabilities: {
    package: { ecosystem: string; name: string | null } | null
    vulnerable_version_range: string | null
    patched_versions: string | null
  }[] | null
}

/** The advisory as the watch document and catalog/releases.json carry it. */
export interface AdvisoryRef {
  ghsaId: string
  cveId: string | null
  severity: Severity
}

/** The npm package the image runs; vulnerabilities of other packages are not the pin's. */
export const OPENCLAW_PACKAGE = { ecosystem: 'npm', name: 'openclaw' }

function concernsOpenclaw(v: NonNullable<GithubAdvisory['vulnerabilities']>[number]): boolean {
  // a vulnerability without a package is the repository's own: assume openclaw.
  if (!v.package || v.package.name === null) return true
  return v.package.ecosystem === OPENCLAW_PACKAGE.ecosystem && v.package.name === OPENCLAW_PACKAGE.name
}

function vulnerabilities(a: GithubAdvisory) {
  const list = a.vulnerabilities ?? []
  // an advisory that names no vulnerable package at all still concerns the repository.
  return list.length ? list.filter(concernsOpenclaw) : [{ package: null, vulnerable_version_range: null, patched_versions: null }]
}

/** Is `pin` inside the advisory's vulnerable range? No range, or one that cannot be read: yes. */
export function exposes(a: GithubAdvisory, pin: OpenclawVersion): boolean {
  return vulnerabilities(a).some(v => {
    const range = v.vulnerable_version_range?.trim()
    if (!range || !isVersionRange(range)) return true
    return satisfiesRange(pin, range)
  })
}

/**
 * Is `release` patched? Never when it is inside a vulnerable range. Otherwise
 * yes when every vulnerable range could be read (it is in none of them), or
 * when it satisfies some entry's patched_versions. GitHub's patched_versions
 * is free text: a bare version ("2026.2.22") or a list of them means "this
 * one and later"; anything else is read as a range (">= 2026.2.14").
 */
export function patchedIn(a: GithubAdvisory, release: OpenclawVersion): boolean {
  const relevant = vulnerabilities(a)
  let rangesKnown = true
  for (const v of relevant) {
    const range = v.vulnerable_version_range?.trim() ?? ''
    if (range === '' || !isVersionRange(range)) rangesKnown = false
    else if (satisfiesRange(release, range)) return false
  }
  return rangesKnown || relevant.some(v => satisfiesPatched(release, v.patched_versions?.trim() ?? ''))
}

function satisfiesPatched(release: OpenclawVersion, patched: string): boolean {
  if (!patched) return false
  const parts = patched.split(/,|\|\|/).map(p => p.trim()).filter(Boolean)
  const bare = parts.map(p => tryParseVersion(p))
  if (bare.every(b => b !== null)) return bare.some(b => compareVersions(release, b as OpenclawVersion) >= 0)
  return isVersionRange(patched) && satisfiesRange(release, patched)
}

/** An advisory published without a severity is read as high: unknown is not harmless. */
export function severityOf(a: GithubAdvisory): Severity {
  return a.severity ?? 'high'
}

export function advisoryRef(a: GithubAdvisory): AdvisoryRef {
  return { ghsaId: a.ghsa_id, cveId: a.cve_id ?? null, severity: severityOf(a) }
}
