// Upstream releases as clawbake sees them, and the choice of the newest one a
// channel may bake. The GitHub flags are honoured (a draft or a release the
// maintainers marked prerelease is never chosen); the version scheme decides
// the rest (version.ts): betas are never chosen, corrections are, nothing below
// the security floor is. A tag that is not an OpenClaw version is skipped with
// a warning, never guessed.
import { compareVersions, ineligibility, tryParseVersion, type Channel, type OpenclawVersion } from './version.ts'

/** The fields of a GitHub release (GET /repos/{owner}/{repo}/releases) that clawbake reads. */
export interface GithubRelease {
  tag_name: string
  name: string | null
  draft: boolean
  prerelease: boolean
  created_at: string
  published_at: string | null
  html_url: string
  body: string | null
}

export interface Release {
  version: OpenclawVersion
  /** the Git tag as published, e.g. `v2026.9.6` */
  tagName: string
  draft: boolean
  /** GitHub's own prerelease flag (set by the maintainers) */
  githubPrerelease: boolean
  publishedAt: string
  url: string
  body: string
}

export interface Skipped {
  tag: string
  reason: string
}

export interface ReleaseList {
  releases: Release[]
  /** tags that are not OpenClaw versions: skipped, with the reason */
  malformed: Skipped[]
}

/** Turn GitHub's release objects into Releases; malformed tags are set aside, not guessed. */
export function readReleases(raw: readonly GithubRelease[]): ReleaseList {
  const byVersion = new Map<string, Release>()
  const malformed: Skipped[] = []
  for (const r of raw) {
    const version = tryParseVersion(r.tag_name)
    if (!version || r.tag_name !== r.tag_name.trim()) {
      malformed.push({ tag: r.tag_name, reason: `tag "${r.tag_name}" is not an OpenClaw version (vYYYY.M.PATCH[-beta.N|-alpha.N|-N])` })
      continue
    }
    // one release per version; a published release wins over a draft of the same version
    const known = byVersion.get(version.version)
    if (known && !(known.draft && !r.draft)) continue
    byVersion.set(version.version, {
      version,
      tagName: r.tag_name,
      draft: r.draft,
      githubPrerelease: r.prerelease,
      publishedAt: r.published_at ?? r.created_at,
      url: r.html_url,
      body: r.body ?? '',
    })
  }
  return { releases: [...byVersion.values()], malformed }
}

/** Why `r` may not be baked on `channel`, or null when it may. */
export function releaseIneligibility(r: Release, channel: Channel): string | null {
  if (r.draft) return `${r.tagName} is a draft`
  if (r.githubPrerelease) return `${r.tagName} is marked prerelease on GitHub`
  return ineligibility(r.version, { channel })
}

export interface Choice {
  /** the newest eligible release of the channel, or null when there is none */
  latest: Release | null
  /** every release that was not eligible, newest first, with the reason */
  ineligible: Skipped[]
}

/** The newest release `channel` may bake (OpenClaw order: a correction beats its base). */
export function chooseLatest(releases: readonly Release[], channel: Channel): Choice {
  const sorted = [...releases].sort((a, b) => compareVersions(b.version, a.version))
  const ineligible: Skipped[] = []
  let latest: Release | null = null
  for (const r of sorted) {
    const why = releaseIneligibility(r, channel)
    if (why) ineligible.push({ tag: r.version.version, reason: why })
    else if (!latest) latest = r
  }
  return { latest, ineligible }
}

/** Releases strictly after `after` up to and including `upTo` (drafts excluded): what a pin at `after` lacks. */
export function releasesBetween(releases: readonly Release[], after: OpenclawVersion, upTo: OpenclawVersion): Release[] {
  return releases.filter(r => !r.draft && compareVersions(r.version, after) > 0 && compareVersions(r.version, upTo) <= 0)
}
