// Channel moves and revocations on the catalog and the registry together:
// the registry tag is moved (and verified) first, the catalog event is
// written after, so a failure leaves both where they were.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { writeFileAtomic, writeJsonAtomic } from '../atomic.ts'
import { ClawbakeError } from '../errors.ts'
import {
  actor, catalogPath, currentIndex, eventFor, fallbackIndex, isRevoked, matchEntries, readCatalog, CATALOG_SCHEMA,
  type Catalog, type CatalogEntry, type CatalogEvent,
} from '../publish/catalog.ts'
import { revocationLines } from '../publish/notes.ts'
import { CHANNELS, type Channel } from '../releases/version.ts'
import { assertSchema } from '../schema/assert.ts'
import { moveChannelTag } from './push.ts'

export interface Found { channel: Channel; catalog: Catalog; index: number; entry: CatalogEntry }

function requireReason(reason: string | undefined, command: string): string {
  const r = (reason ?? '').replace(/\s+/g, ' ').trim()
  if (!r) throw new ClawbakeError(`clawbake ${command}: --reason is required (it is recorded in the catalog, with who)`, { field: '--reason', rule: 'channel.reason-required' }, 2)
  return r.slice(0, 500)
}

/** The store images `ref` names on `channels` (newest first). */
export function findImages(root: string, ref: string, channels: readonly Channel[] = CHANNELS): Found[] {
  const out: Found[] = []
  for (const channel of channels) {
    const catalog = readCatalog(root, channel)
    for (const index of matchEntries(catalog, ref)) out.push({ channel, catalog, index, entry: catalog.entries[index]! })
  }
  return out
}

/** The image `ref` names: the newest one not revoked (or the newest, when all are), or a refusal. */
export function findOneImage(root: string, ref: string, channels: readonly Channel[] = CHANNELS): Found {
  const found = findImages(root, ref, channels)
  if (!found.length) {
    throw new ClawbakeError(`no image in the store matches "${ref}" in ${channels.map(c => `catalog/${c}.json`).join(', ')} (give a manifest digest, an immutable tag <openclaw tag>-<bake id>, or an OpenClaw tag)`, { file: catalogPath(root, channels[0]!), rule: 'store.image-unknown' }, 1)
  }
  return found.find(f => !isRevoked(f.catalog, f.index)) ?? found[0]!
}

/** The channel's current image in the store (what `image pull <channel>` gets), or a refusal naming why there is none. */
export function currentImage(root: string, channel: Channel): Found {
  const catalog = readCatalog(root, channel)
  const i = currentIndex(catalog)
  const entry = i === null ? undefined : catalog.entries[i]
  if (i === null || !entry?.store) {
    throw new ClawbakeError(`the ${channel} channel has no current image in the store${entry ? ` (its current entry, OpenClaw ${entry.tag}, is ${entry.artifact.builder} ${entry.artifact.id})` : ''}`, { file: catalogPath(root, channel), rule: 'store.channel-empty' }, 1)
  }
  return { channel, catalog, index: i, entry }
}

/** A channel's current image, or the image `ref` names (see findOneImage). */
export function imageOf(root: string, ref: string): Found {
  return CHANNELS.includes(ref as Channel) ? currentImage(root, ref as Channel) : findOneImage(root, ref)
}

function writeCatalog(root: string, channel: Channel, next: Catalog): void {
  const file = catalogPath(root, channel)
  assertSchema(CATALOG_SCHEMA, next, file, 'catalog.invalid')
  writeJsonAtomic(file, next)
}

export interface MoveResult {
  channel: Channel
  entry: CatalogEntry
  previous: CatalogEntry | null
  event: CatalogEvent
}

/** `clawbake channel set`: move the channel to an image already in the store and verified. */
export async function setChannel(req: { root: string; channel: Channel; ref: string; reason: string | undefined; force: boolean; env: Record<string, string | undefined>; now: Date }): Promise<MoveResult> {
  const reason = requireReason(req.reason, 'channel set')
  const f = findOneImage(req.root, req.ref, [req.channel])
  if (isRevoked(f.catalog, f.index) && !req.force) {
    throw new ClawbakeError(`${f.entry.store!.reference} is revoked; moving ${req.channel} back to it needs --force`, { file: catalogPath(req.root, req.channel), field: '/events', rule: 'channel.revoked' }, 1)
  }
  const cur = currentIndex(f.catalog)
  await moveChannelTag(f.entry.store!, req.channel, req.env)
  const event = eventFor(f.catalog, f.index, 'set', actor(req.env), reason, req.now.toISOString())
  writeCatalog(req.root, req.channel, { ...f.catalog, events: [...f.catalog.events ?? [], event] })
  return { channel: req.channel, entry: f.entry, previous: cur === null ? null : f.catalog.entries[cur] ?? null, event }
}

export interface RevokeResult {
  channel: Channel
  entry: CatalogEntry
  already: boolean
  wasCurrent: boolean
  /** where the channel fell back to (null: it was not current, or nothing to fall back to) */
  fallback: CatalogEntry | null
  events: CatalogEvent[]
  files: string[]
}

/** `clawbake revoke`: mark an image revoked; a current one is replaced by the newest image not revoked. */
export async function revokeImage(req: { root: string; ref: string; reason: string | undefined; channel?: Channel; env: Record<string, string | undefined>; now: Date }): Promise<RevokeResult> {
  const reason = requireReason(req.reason, 'revoke')
  const found = findImages(req.root, req.ref, req.channel ? [req.channel] : CHANNELS)
  if (!found.length) findOneImage(req.root, req.ref, req.channel ? [req.channel] : CHANNELS) // throws: nothing matches
  if (new Set(found.map(f => `${f.channel} ${f.index}`)).size > 1) {
    throw new ClawbakeError(`"${req.ref}" names ${found.length} images (${found.map(f => `${f.channel}:${f.entry.store!.tag}`).join(', ')}); revoke one by its immutable tag or digest`, { field: 'ref', rule: 'revoke.ambiguous' }, 2)
  }
  const f = found[0]!
  if (isRevoked(f.catalog, f.index)) {
    return { channel: f.channel, entry: f.entry, already: true, wasCurrent: false, fallback: null, events: [], files: [] }
  }
  const who = actor(req.env)
  const at = req.now.toISOString()
  const events = [eventFor(f.catalog, f.index, 'revoke', who, reason, at)]
  const wasCurrent = currentIndex(f.catalog) === f.index
  let fallback: CatalogEntry | null = null
  const withRevoke: Catalog = { ...f.catalog, events: [...f.catalog.events ?? [], ...events] }
  if (wasCurrent) {
    const fb = fallbackIndex(withRevoke, f.index)
    if (fb === null) {
      throw new ClawbakeError(`${f.entry.store!.reference} is the current ${f.channel} image and no other image may take its place (none is unrevoked and was ever current); nothing was recorded. Publish or \`clawbake channel set\` another image first, then revoke`, { file: catalogPath(req.root, f.channel), rule: 'revoke.no-fallback' }, 1)
    }
    fallback = f.catalog.entries[fb]!
    // the registry tag first: if it cannot move, nothing is recorded
    if (fallback.store) await moveChannelTag(fallback.store, f.channel, req.env)
    events.push(eventFor(withRevoke, fb, 'fallback', who, `revoked ${f.entry.store!.tag}: ${reason}`, at))
  }
  writeCatalog(req.root, f.channel, { ...f.catalog, events: [...f.catalog.events ?? [], ...events] })
  const files = [`catalog/${f.channel}.json`]
  if (f.entry.notes && existsSync(join(req.root, f.entry.notes))) {
    writeFileAtomic(join(req.root, f.entry.notes), addRevocationBanner(readFileSync(join(req.root, f.entry.notes), 'utf8'), events[0]!))
    files.push(f.entry.notes)
  }
  return { channel: f.channel, entry: f.entry, already: false, wasCurrent, fallback, events, files }
}

/** The release note with the REVOKED line under its title. */
export function addRevocationBanner(notes: string, revocation: CatalogEvent): string {
  const lines = notes.split('\n')
  const at = lines.findIndex(l => l.startsWith('# ')) + 1
  lines.splice(at, 0, '', ...revocationLines([revocation]).filter(Boolean))
  return lines.join('\n')
}
