// Publishing a baked image: ONLY when every required gate passed and the image
// is exactly what was pinned. Writes release notes, the CHANGELOG bullet and,
// last, the catalog entry (the catalog is what makes it published), each file
// atomically. A failed gate publishes nothing and names the gate.
import { readFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { ClawbakeError } from '../errors.ts'
import type { GateReport } from '../bake/contract.ts'
import type { Masker } from '../bake/mask.ts'
import { readPinRecord } from '../pins/record.ts'
import type { Channel } from '../releases/version.ts'
import { assertSchema } from '../schema/validate.ts'
import { writeFileAtomic, writeJsonAtomic } from '../atomic.ts'
import { CATALOG_SCHEMA, catalogPath, hoursBetween, readCatalog, type CatalogArtifact, type CatalogEntry } from './catalog.ts'
import { addChangelogEntry } from './changelog.ts'
import { notesPath, renderNotes } from './notes.ts'

export interface PublishInput {
  root: string
  channel: Channel
  tag: string
  image: string
  digest: string
  platforms: CatalogEntry['platforms']
  artifact: CatalogArtifact
  gates: GateReport
  /** where the gate report came from (named in errors) */
  gateReportFile: string
  requiredGates: readonly string[]
  urgency: 'critical' | 'routine' | null
  releasedAt: string
  bakeStartedAt: string
  now: Date
  bakeId: string
  releaseUrl: string | null
  advisories: { ghsaId: string; cveId: string | null; severity: string }[]
  /** every secret of the run: nothing that contains one is written */
  masker: Masker
}

export interface PublishResult {
  entry: CatalogEntry
  /** files written, relative to the root */
  files: string[]
}

/** Throws (exit 1) naming every failing or missing gate unless the report passed them all. */
export function assertGatesPassed(report: GateReport, required: readonly string[], file: string): void {
  const gates = Array.isArray(report?.gates) ? report.gates : []
  const failing = gates.map((g, i) => ({ g, i })).filter(({ g }) => g.ok !== true)
  const seen = new Set(gates.filter(g => g.ok === true).map(g => g.id))
  const missing = required.filter(id => !seen.has(id) && !failing.some(({ g }) => g.id === id))
  if (failing.length || missing.length || report?.ok !== true) {
    const parts = [
      ...failing.map(({ g }) => `${g.id} (${String(g.detail ?? '').split('\n')[0]?.slice(0, 200)})`),
      ...missing.map(id => `${id} (did not run)`),
    ]
    throw new ClawbakeError(
      `gate failed: ${parts.join(', ') || 'the report says ok=false'}; nothing was published`,
      { file, field: failing[0] ? `/gates/${failing[0].i}` : '/ok', rule: 'publish.gate-failed' },
      1,
    )
  }
}

function refuseSecrets(masker: Masker, text: string, file: string): void {
  if (masker.mask(text) !== text) {
    throw new ClawbakeError('would contain a secret value; nothing was published', { file, rule: 'publish.secret-leak' }, 1)
  }
}

export function publishImage(input: PublishInput): PublishResult {
  const { root, channel } = input
  assertGatesPassed(input.gates, input.requiredGates, input.gateReportFile)

  // the image is exactly what was pinned
  const pinFile = join(root, 'pins.lock.json')
  const pin = readPinRecord(pinFile)
  if (pin.tag !== input.tag || pin.digest !== input.digest) {
    throw new ClawbakeError(
      `pin is ${pin.tag} ${pin.digest} but the baked image is ${input.tag} ${input.digest}; nothing was published`,
      { file: pinFile, field: '/digest', rule: 'publish.pin-mismatch' },
      1,
    )
  }

  const catalog = readCatalog(root, channel)
  const previous = catalog.entries.at(-1) ?? null
  const publishedAt = input.now.toISOString()
  const entry: CatalogEntry = {
    tag: input.tag,
    image: input.image,
    digest: input.digest,
    platforms: input.platforms,
    artifact: input.artifact,
    gates: input.gates,
    urgency: input.urgency,
    releasedAt: input.releasedAt,
    bakeStartedAt: input.bakeStartedAt,
    publishedAt,
    timeToPatchHours: Math.max(0, hoursBetween(input.releasedAt, publishedAt)),
    bakeId: input.bakeId,
    notes: notesPath(input.tag),
  }
  const next = { ...catalog, entries: [...catalog.entries, entry] }
  const catFile = catalogPath(root, channel)
  assertSchema(CATALOG_SCHEMA, next, catFile, 'publish.catalog-invalid')

  const notesFile = join(root, notesPath(input.tag))
  const notes = renderNotes(entry, { channel, releaseUrl: input.releaseUrl, advisories: input.advisories, previous: previous && previous.tag === entry.tag && previous.digest === entry.digest ? null : previous })
  const changelogFile = join(root, 'CHANGELOG.md')
  const changelogBefore = existsSync(changelogFile) ? readFileSync(changelogFile, 'utf8') : '# Changelog\n'
  const changelog = addChangelogEntry(changelogBefore, entry, channel)
  const catalogText = JSON.stringify(next, null, 2) + '\n'

  // nothing is written until everything is ready and clean
  refuseSecrets(input.masker, notes, notesFile)
  refuseSecrets(input.masker, changelog, changelogFile)
  refuseSecrets(input.masker, catalogText, catFile)

  const files: string[] = []
  writeFileAtomic(notesFile, notes)
  files.push(notesPath(input.tag))
  if (changelog !== changelogBefore) {
    writeFileAtomic(changelogFile, changelog)
    files.push('CHANGELOG.md')
  }
  writeJsonAtomic(catFile, next)
  files.push(`catalog/${channel}.json`)
  return { entry, files }
}
