// watch: is there an upstream OpenClaw release the channel must bake, and by
// when? Reads the pin record, lists the repository's releases (conditionally:
// a poll that finds nothing new is one request answered 304), chooses the
// newest eligible release of the channel, and when it is newer than the pin
// assesses its urgency against the repository's published security
// advisories and release notes. Records the decision in catalog/releases.json.
// Nothing is written unless the whole poll succeeded.
import { ClawbakeError, usageError } from '../errors.ts'
import { createGithubClient, type GithubOptions } from '../github/client.ts'
import { cachePath, loadEtagCache, saveEtagCache } from '../github/etag-cache.ts'
import { DEFAULT_REPO, listAdvisories, listReleases, parseRepo } from '../github/releases.ts'
import { projectPaths } from '../paths.ts'
import { readPinRecord } from '../pins/record.ts'
import type { AdvisoryRef, GithubAdvisory } from '../releases/advisory.ts'
import { chooseLatest, readReleases } from '../releases/release.ts'
import { assessUrgency, type Urgency } from '../releases/urgency.ts'
import { compareVersions, parseVersion, type Channel } from '../releases/version.ts'
import { mergeRelease, readReleasesRecord, releasesRecordPath, writeReleasesRecord, type ReleaseEntry } from './record.ts'

export interface WatchOptions {
  root: string
  env: Record<string, string | undefined>
  now: Date
  channel: Channel
  /** owner/name, default openclaw/openclaw */
  repo?: string
  /** write catalog/releases.json (default true) */
  record?: boolean
  /** retry/back-off settings of the GitHub client (tests make them small) */
  github?: GithubOptions
  /** warnings as they happen (they are also in the result) */
  warn?: (line: string) => void
}

export interface WatchResult {
  channel: Channel
  repo: string
  current: { tag: string; digest: string }
  latest: { tag: string; publishedAt: string; url: string } | null
  action: 'up-to-date' | 'bake'
  urgency: Urgency | null
  dueBy: string | null
  advisories: AdvisoryRef[]
  /** why critical (empty when routine or up-to-date) */
  reasons: string[]
  /** now is past dueBy */
  overdue: boolean
  /** when watch first saw `latest` (from catalog/releases.json), null when up-to-date */
  firstSeenAt: string | null
  /** skipped malformed tags, cache trouble, rate-limit waits */
  warnings: string[]
  /** HTTP exchanges with GitHub this poll (retries included) and how many were answered 304 */
  requests: { total: number; notModified: number }
  /** catalog/releases.json was written */
  recorded: boolean
}

export async function watchReleases(opts: WatchOptions): Promise<WatchResult> {
  const paths = projectPaths(opts.root)
  const repoText = opts.repo ?? DEFAULT_REPO
  const repo = parseRepo(repoText)
  if (!repo) throw usageError(`--repo "${repoText}" is not owner/name`, 'watch.repo-malformed')

  // Local inputs first: a missing or corrupt record fails before any request.
  const pinRecord = readPinRecord(paths.pinsLock)
  const pin = parseVersion(pinRecord.tag, { file: paths.pinsLock, field: '/tag' })
  const recordFile = releasesRecordPath(paths.catalog)
  const record = readReleasesRecord(recordFile)

  const warnings: string[] = []
  const warn = (line: string) => {
    warnings.push(line)
    opts.warn?.(line)
  }
  const client = createGithubClient(opts.env, { ...opts.github, warn })
  const cache = loadEtagCache(cachePath(paths.state), warn)

  const listing = await listReleases(client, cache, repo)
  const { releases, malformed } = readReleases(listing.items)
  for (const m of malformed) warn(`skipped: ${m.reason}`)
  const { latest, ineligible } = chooseLatest(releases, opts.channel)
  const where = `${client.baseUrl}/repos/${repo.owner}/${repo.name}/releases`
  if (!latest) {
    const why = listing.items.length === 0
      ? 'the release list is empty'
      : `none of the ${listing.items.length} releases is eligible (${[...malformed.map(m => m.reason), ...ineligible.map(s => s.reason)].slice(0, 5).join('; ')}${listing.items.length > 5 ? '; ...' : ''})`
    throw new ClawbakeError(`no ${opts.channel} release of ${repoText} to compare with the pin ${pin.version}: ${why}`, { file: where, rule: 'watch.no-eligible-release' }, 1)
  }
  if (pin.channel !== opts.channel) warn(`the pin ${pin.version} is on the ${pin.channel} line, not ${opts.channel}`)

  const base = {
    channel: opts.channel,
    repo: repoText,
    current: { tag: pinRecord.tag, digest: pinRecord.digest },
    latest: { tag: latest.version.version, publishedAt: latest.publishedAt, url: latest.url },
  }
  let result: WatchResult
  if (compareVersions(latest.version, pin) <= 0) {
    result = {
      ...base, action: 'up-to-date', urgency: null, dueBy: null, advisories: [], reasons: [], overdue: false,
      firstSeenAt: null, warnings, requests: { total: 0, notModified: 0 }, recorded: false,
    }
  } else {
    const known = record.releases.find(r => r.tag === latest.version.version)
    // Urgency never goes down: once recorded critical, the advisories cannot change the decision.
    let advisories: GithubAdvisory[] | null = null
    if (known?.urgency !== 'critical') advisories = (await listAdvisories(client, cache, repo)).items
    const assessed = assessUrgency({ release: latest, pin, releases, advisories })
    const found: ReleaseEntry = {
      tag: latest.version.version,
      channel: opts.channel,
      publishedAt: latest.publishedAt,
      url: latest.url,
      firstSeenAt: opts.now.toISOString(),
      urgency: assessed.urgency,
      dueBy: assessed.dueBy,
      advisories: assessed.advisories,
      ...(assessed.reasons.length ? { reasons: assessed.reasons } : {}),
    }
    const merged = mergeRelease(record, found)
    const recorded = opts.record !== false && merged.changed
    if (recorded) writeReleasesRecord(recordFile, merged.record)
    const entry = merged.entry
    result = {
      ...base, action: 'bake', urgency: entry.urgency, dueBy: entry.dueBy, advisories: entry.advisories,
      reasons: entry.reasons ?? [], overdue: opts.now.getTime() > Date.parse(entry.dueBy), firstSeenAt: entry.firstSeenAt,
      warnings, requests: { total: 0, notModified: 0 }, recorded,
    }
  }
  saveEtagCache(cache)
  return { ...result, requests: { total: client.stats.requests, notModified: client.stats.notModified } }
}
