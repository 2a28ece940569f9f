// `clawbake image pull|push`, `clawbake channel set`, `clawbake revoke`: the
// image store from the command line. Credentials come from the environment
// only (CLAWBAKE_REGISTRY_USER/CLAWBAKE_REGISTRY_PASSWORD, or GITHUB_TOKEN for
// ghcr.io), never from an argument, and are never printed.
import { join, resolve } from 'node:path'
import type { Command } from '../cli/command.ts'
import { commonOptions, parseCommandArgs } from '../cli/args.ts'
import { writeJsonAtomic } from '../atomic.ts'
import { ClawbakeError, usageError } from '../errors.ts'
import { emitJson, type Io } from '../io.ts'
import { actor, catalogPath, eventFor, isRevoked, readCatalog, CATALOG_SCHEMA, type Catalog } from '../publish/catalog.ts'
import { assertNotRevoked } from '../publish/publish.ts'
import { CHANNELS, type Channel } from '../releases/version.ts'
import { assertSchema } from '../schema/assert.ts'
import { imageOf, revokeImage, setChannel } from './channels.ts'
import { progress } from './progress.ts'
import { pullDiskImage } from './pull.ts'
import { imageRepoFrom, moveChannelTag, pushDiskImage } from './push.ts'

const MIB = 1 << 20

function channelOf(value: string | undefined, usage: string, command: string): Channel | undefined {
  if (value === undefined) return undefined
  if (!CHANNELS.includes(value as Channel)) throw usageError(`clawbake ${command}: channel must be one of ${CHANNELS.join(', ')}, got "${value}"\nusage: ${usage}`)
  return value as Channel
}

const pullUsage = 'clawbake image pull <channel|tag|digest> [--out FILE] [--from REPO] [--force] [--json]'
const pushUsage = 'clawbake image push --bake-id ID [--channel C] [--image-repo REPO] [--boot-test-passed] [--json]'

async function pull(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommandArgs('image pull', argv, { ...commonOptions, out: { type: 'string' }, from: { type: 'string' }, force: { type: 'boolean', default: false } }, pullUsage, { min: 1, max: 1 })
  const found = imageOf(io.cwd, positionals[0]!)
  // --from: a mirror of the store (another repository with the same content): the catalog's digests are verified all the same
  const recorded = found.entry.store!
  const from = values.from?.replace(/\/+$/, '')
  if (from !== undefined && !/^[a-z0-9.-]+(:\d+)?(\/[a-z0-9._-]+)+$/.test(from)) throw usageError(`clawbake image pull: --from must be a repository (host[:port]/path), got "${from}"\nusage: ${pullUsage}`, 'store.from-invalid')
  const store = from ? { ...recorded, repository: from, reference: `${from}:${recorded.tag}@${recorded.manifestDigest}` } : recorded
  if (isRevoked(found.catalog, found.index) && !values.force) {
    throw new ClawbakeError(`${store.reference} is revoked; pulling it needs --force (to investigate, never to run)`, { file: catalogPath(io.cwd, found.channel), field: '/events', rule: 'store.revoked' }, 1)
  }
  const out = resolve(io.cwd, values.out ?? `${store.tag}.qcow2`)
  let bar: ReturnType<typeof progress> | null = null
  io.err(`image pull: ${store.reference} (${(store.sizeBytes / MIB).toFixed(0)} MiB) -> ${out}\n`)
  const r = await pullDiskImage({
    store, out, env: io.env,
    onProgress: (done, total, from) => {
      bar ??= progress(io, 'pull', total, from)
      bar.update(done)
    },
  })
  ;(bar as ReturnType<typeof progress> | null)?.end()
  const rate = r.bytesDownloaded / MIB / Math.max(r.ms / 1000, 0.001)
  io.err(`image pull: verified manifest ${r.manifestDigest}, layer ${r.layerDigest}, qcow2 sha256 ${r.sha256}; ` +
    `${(r.bytesDownloaded / MIB).toFixed(1)} MiB in ${(r.ms / 1000).toFixed(1)} s (${rate.toFixed(0)} MiB/s)${r.resumedFrom ? `, resumed at ${(r.resumedFrom / MIB).toFixed(1)} MiB` : ''}${r.resumes ? `, ${r.resumes} dropped connection(s) resumed` : ''}\n`)
  if (values.json) emitJson(io, { ok: true, channel: found.channel, tag: found.entry.tag, ...r })
  return 0
}

/** Complete a held entry: push its qcow2, verify, record the store; move the channel when the boot test passed. */
async function push(argv: string[], io: Io): Promise<number> {
  const { values } = parseCommandArgs('image push', argv, {
    ...commonOptions, 'bake-id': { type: 'string' }, channel: { type: 'string' }, 'image-repo': { type: 'string' },
    'boot-test-passed': { type: 'boolean', default: false }, force: { type: 'boolean', default: false },
  }, pushUsage)
  if (!values['bake-id']) throw usageError(`clawbake image push: --bake-id is required\nusage: ${pushUsage}`)
  const repo = imageRepoFrom(values['image-repo'], io.env)
  if (!repo) throw usageError(`clawbake image push: no image repository: pass --image-repo, set CLAWBAKE_IMAGE_REPO, or run in a workflow (GITHUB_REPOSITORY_OWNER)\nusage: ${pushUsage}`, 'store.repo-missing')
  const channels = values.channel ? [channelOf(values.channel, pushUsage, 'image push')!] : CHANNELS
  let hit: { channel: Channel; catalog: Catalog; index: number } | null = null
  for (const channel of channels) {
    const catalog = readCatalog(io.cwd, channel)
    const index = catalog.entries.findIndex(e => e.bakeId === values['bake-id'])
    if (index >= 0) hit = { channel, catalog, index }
  }
  if (!hit) throw new ClawbakeError(`no catalog entry has bakeId ${values['bake-id']}`, { file: catalogPath(io.cwd, channels[0]!), rule: 'store.bake-unknown' }, 1)
  const { channel, catalog, index } = hit
  const entry = catalog.entries[index]!
  const file = catalogPath(io.cwd, channel)
  if (entry.artifact.builder !== 'qemu') throw new ClawbakeError(`bake ${entry.bakeId} built ${entry.artifact.builder} ${entry.artifact.id}: there is no qcow2 to push`, { file, field: `/entries/${index}/artifact`, rule: 'store.not-a-disk' }, 1)
  if (entry.store) {
    io.err(`image push: ${entry.store.reference} is already in the store (verified ${entry.store.verifiedAt}); nothing to do\n`)
    if (values.json) emitJson(io, { ok: true, noop: true, channel, store: entry.store })
    return 0
  }
  if (entry.artifact.sha256) assertNotRevoked(catalog, { sha256: entry.artifact.sha256 }, values.force, file)
  let bar: ReturnType<typeof progress> | null = null
  const r = await pushDiskImage({
    file: join(io.cwd, entry.artifact.id), repository: repo, tag: entry.tag, bakeId: entry.bakeId!, env: io.env, expectSha256: entry.artifact.sha256,
    meta: { indexDigest: entry.digest, channel, gates: `${entry.gates.gates.length}/${entry.gates.gates.length} passed: ${entry.gates.gates.map(g => g.id).join(', ')}`, created: entry.publishedAt },
    onProgress: (done, total) => {
      bar ??= progress(io, 'push', total)
      bar.update(done)
    },
  })
  ;(bar as ReturnType<typeof progress> | null)?.end()
  let moved = false
  if (values['boot-test-passed']) {
    await moveChannelTag(r.store, channel, io.env)
    moved = true
  }
  const entries = catalog.entries.map((e, i) => (i === index ? { ...e, store: r.store } : e))
  const next: Catalog = { ...catalog, entries }
  if (moved) next.events = [...catalog.events ?? [], eventFor(next, index, 'publish', actor(io.env), `image push of bake ${entry.bakeId}, boot test passed`, io.now().toISOString())]
  assertSchema(CATALOG_SCHEMA, next, file, 'catalog.invalid')
  writeJsonAtomic(file, next)
  io.err(`image push: ${r.store.reference} verified (${(r.bytesSent / MIB).toFixed(1)} MiB sent, ${r.blobsSkipped} blob(s) already there, ${r.resumes} resume(s), ${r.restarts} restart(s), ${(r.ms / 1000).toFixed(1)} s); ` +
    (moved ? `${channel} moved to it\n` : `${channel} not moved (held until a boot test: clawbake channel set ${channel} ${r.store.tag} --reason ...)\n`))
  if (values.json) emitJson(io, { ok: true, noop: false, channel, moved, store: r.store, bytesSent: r.bytesSent, blobsSkipped: r.blobsSkipped, resumes: r.resumes, restarts: r.restarts, ms: r.ms })
  return 0
}

export const imageCommand: Command = {
  name: 'image',
  summary: 'the golden image in the OCI image store: pull (verified, resumable) or push a held bake',
  usage: `${pullUsage}\n       ${pushUsage}`,
  async run(argv, io) {
    const [sub, ...rest] = argv
    if (sub === 'pull') return await pull(rest, io)
    if (sub === 'push') return await push(rest, io)
    throw usageError(`clawbake image: expected "pull" or "push", got ${sub ? `"${sub}"` : 'nothing'}\nusage: ${this.usage}`)
  },
}

const setUsage = 'clawbake channel set <channel> <tag|digest> --reason WHY [--force] [--json]'

export const channelCommand: Command = {
  name: 'channel',
  summary: 'move a channel (catalog and registry tag) to an image already published and verified',
  usage: setUsage,
  async run(argv, io) {
    const [sub, ...rest] = argv
    if (sub !== 'set') throw usageError(`clawbake channel: expected "set", got ${sub ? `"${sub}"` : 'nothing'}\nusage: ${setUsage}`)
    const { values, positionals } = parseCommandArgs('channel set', rest, { ...commonOptions, reason: { type: 'string' }, force: { type: 'boolean', default: false } }, setUsage, { min: 2, max: 2 })
    const channel = channelOf(positionals[0], setUsage, 'channel set')!
    const r = await setChannel({ root: io.cwd, channel, ref: positionals[1]!, reason: values.reason, force: values.force, env: io.env, now: io.now() })
    io.err(`channel set: ${channel} -> OpenClaw ${r.entry.tag} ${r.entry.store!.reference} (was ${r.previous ? `OpenClaw ${r.previous.tag} ${r.previous.store?.reference ?? r.previous.artifact.id}` : 'nothing'}); recorded: ${r.event.who}: ${r.event.reason}\n`)
    if (values.json) emitJson(io, { ok: true, channel, tag: r.entry.tag, store: r.entry.store, previous: r.previous?.store ?? null, event: r.event })
    return 0
  },
}

const revokeUsage = 'clawbake revoke <tag|digest> --reason WHY [--channel C] [--json]'

export const revokeCommand: Command = {
  name: 'revoke',
  summary: 'mark an image revoked; a current one is replaced by the newest image not revoked',
  usage: revokeUsage,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs('revoke', argv, { ...commonOptions, reason: { type: 'string' }, channel: { type: 'string' } }, revokeUsage, { min: 1, max: 1 })
    const channel = channelOf(values.channel, revokeUsage, 'revoke')
    const r = await revokeImage({ root: io.cwd, ref: positionals[0]!, reason: values.reason, ...(channel ? { channel } : {}), env: io.env, now: io.now() })
    if (r.already) io.err(`revoke: ${r.entry.store!.reference} was already revoked; nothing changed\n`)
    else {
      io.err(`revoke: ${r.entry.store!.reference} revoked on ${r.channel} by ${r.events[0]!.who}: ${r.events[0]!.reason}\n`)
      if (r.fallback) io.err(`revoke: it was current; ${r.channel} fell back to OpenClaw ${r.fallback.tag} ${r.fallback.store?.reference ?? r.fallback.artifact.id}\n`)
    }
    if (values.json) emitJson(io, { ok: true, channel: r.channel, tag: r.entry.tag, store: r.entry.store, already: r.already, wasCurrent: r.wasCurrent, fallback: r.fallback?.store ?? (r.fallback ? { tag: r.fallback.tag } : null), events: r.events, files: r.files })
    return 0
  },
}
