// Publishing a baked image: ONLY when every required gate passed and the image
// is exactly what was pinned. A qcow2 goes to the image store first (pushed,
// then verified); the channel tag moves last, and only when the bake says the
// boot test passed. Then release notes, the CHANGELOG bullet and, last, the
// catalog entry (the catalog is what makes it published), each file
// atomically. A failed gate publishes nothing and names the gate; a failed
// push or verification writes nothing and leaves the channel where it was.
// A qcow2 with no image store to go to is recorded `held`: a file on the
// build machine is never a channel's current image (`clawbake image push`
// completes it later).
import { readFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { ClawbakeError } from '../errors.ts'
import type { GateReport } from '../bake/contract.ts'
import type { Masker } from '../bake/mask.ts'
import { readPinRecord } from '../pins/record.ts'
import type { Channel } from '../releases/version.ts'
import { assertSchema } from '../schema/assert.ts'
import { writeFileAtomic, writeJsonAtomic } from '../atomic.ts'
import { actor, CATALOG_SCHEMA, catalogPath, currentIndex, eventFor, hoursBetween, readCatalog, revokedMatch, type Catalog, type CatalogArtifact, type CatalogEntry } from './catalog.ts'
import { moveChannelTag, pushDiskImage, type PushResult } from '../store/push.ts'
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
  /** the image store repository (`--image-repo`); null: the qcow2 is not pushed and its entry is held */
  imageRepo?: string | null
  /** the bake's verdict on the boot test of the captured image: the channel moves only when true */
  bootTestPassed?: boolean
  /** why the entry is held although nothing failed (the bake was asked not to boot-test it) */
  heldReason?: string
  /** the boot test's report and wall time, recorded in the entry (a passed one only) */
  bootTest?: CatalogEntry['bootTest']
  /** the build VM's identity, recorded in the entry */
  buildVm?: CatalogEntry['buildVm']
  /** publish a qcow2 whose bytes were revoked before */
  force?: boolean
  env?: Record<string, string | undefined>
  /** push progress (bytes of the layer the registry has) */
  onProgress?: (done: number, total: number) => void
}

export interface PublishResult {
  entry: CatalogEntry
  /** files written, relative to the root */
  files: string[]
  /** the push, when there was one */
  push: PushResult | null
  /** the channel (catalog and channel tag) now points at this entry */
  moved: boolean
}

function gateSummary(report: GateReport): string {
  return `${report.gates.filter(g => g.ok).length}/${report.gates.length} passed: ${report.gates.map(g => g.id).join(', ')}`
}

/** Refuse to publish bytes that were revoked (exit 1) unless forced. */
export function assertNotRevoked(catalog: Catalog, digests: { manifestDigest?: string; sha256?: string }, force: boolean, file: string): void {
  const hit = revokedMatch(catalog, digests)
  if (hit && !force) {
    throw new ClawbakeError(`this image (${hit.store?.reference}) was revoked; it is not published again without --force`, { file, field: '/events', rule: 'publish.revoked' }, 1)
  }
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

export async function publishImage(input: PublishInput): Promise<PublishResult> {
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
  const catFile = catalogPath(root, channel)
  const env = input.env ?? {}
  const current = currentIndex(catalog)
  const previous = current === null ? null : catalog.entries[current] ?? null
  const disk = input.artifact.builder === 'qemu'
  let push: PushResult | null = null
  let moved = !disk
  let moveError: unknown = null
  if (disk && input.imageRepo) {
    if (input.artifact.sha256) assertNotRevoked(catalog, { sha256: input.artifact.sha256 }, input.force ?? false, catFile)
    push = await pushDiskImage({
      file: join(root, input.artifact.id), repository: input.imageRepo, tag: input.tag, bakeId: input.bakeId, env,
      expectSha256: input.artifact.sha256,
      meta: { indexDigest: input.digest, channel, gates: gateSummary(input.gates), created: input.now.toISOString() },
      now: () => input.now,
      ...(input.onProgress ? { onProgress: input.onProgress } : {}),
    })
    if (input.bootTestPassed === true) {
      try {
        await moveChannelTag(push.store, channel, env)
        moved = true
      } catch (e) {
        // the image is in the store and verified: record it, held, then say why the channel did not move
        moveError = e
      }
    }
  }
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
    ...(push ? { store: push.store } : {}),
    ...(moved ? {} : { held: true as const, ...(input.heldReason ? { heldReason: input.heldReason } : {}) }),
    ...(input.buildVm ? { buildVm: input.buildVm } : {}),
    ...(input.bootTest ? { bootTest: input.bootTest } : {}),
  }
  const entries = [...catalog.entries, entry]
  const next: Catalog = { ...catalog, entries }
  if (moved) next.events = [...catalog.events ?? [], eventFor(next, entries.length - 1, 'publish', actor(env), `bake ${input.bakeId}`, publishedAt)]
  assertSchema(CATALOG_SCHEMA, next, catFile, 'publish.catalog-invalid')

  const notesFile = join(root, notesPath(input.tag))
  const notes = renderNotes(entry, { channel, releaseUrl: input.releaseUrl, advisories: input.advisories, previous: previous && previous.tag === entry.tag && previous.digest === entry.digest ? null : previous, revocations: (catalog.events ?? []).filter(e => e.action === 'revoke' && e.tag === input.tag) })
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
  if (moveError) {
    const why = moveError instanceof ClawbakeError ? moveError.describe() : String(moveError)
    throw new ClawbakeError(`the image is in the store and verified (${push?.store.reference}), recorded held; the ${channel} tag did not move: ${why}`, { file: catFile, rule: 'publish.channel-not-moved' }, moveError instanceof ClawbakeError ? moveError.exitCode : 2)
  }
  return { entry, files, push, moved }
}
