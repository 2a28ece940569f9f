// The image store: the baked qcow2 pushed to an OCI repository under its
// immutable tag `<openclaw tag>-<bake id>`, verified, and only then described
// by a StoreRecord; channel tags (`stable`, `extended-stable`) moved by a
// separate call, last, and verified too.
import { ClawbakeError } from '../errors.ts'
import { OCI_MANIFEST } from '../registry/media.ts'
import { chunkBytesFromEnv, fetchManifest, putManifest, uploadBlob, uploadBytes, verifyPushed, type UploadStats } from '../registry/push.ts'
import { parseImageRef } from '../registry/reference.ts'
import { newSession } from '../registry/resolve.ts'
import type { RegistrySession, Target } from '../registry/session.ts'
import type { StoreRecord } from '../publish/catalog.ts'
import { describeDisk, diskImage, layerRange, type DiskImage, type ImageMeta } from './disk-image.ts'

export const IMAGE_REPO_ENV = 'CLAWBAKE_IMAGE_REPO'

/** `--image-repo`, else CLAWBAKE_IMAGE_REPO, else `ghcr.io/<GITHUB_REPOSITORY_OWNER>/clawbake-images` (in a workflow); null when none is known. */
export function imageRepoFrom(option: string | undefined, env: Record<string, string | undefined>): string | null {
  const repo = option || env[IMAGE_REPO_ENV] || (env.GITHUB_REPOSITORY_OWNER ? `ghcr.io/${env.GITHUB_REPOSITORY_OWNER.toLowerCase()}/clawbake-images` : null)
  if (repo) parseImageRef(repo)
  return repo
}

/** `<openclaw tag>-<bake id>`; a bake id already starting with `<tag>-` (clawbake's own) is not prefixed twice. */
export function immutableTag(tag: string, bakeId: string): string {
  const t = bakeId.startsWith(`${tag}-`) ? bakeId : `${tag}-${bakeId}`
  if (!/^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/.test(t)) throw new ClawbakeError(`"${t}" is not a valid registry tag`, { field: 'bakeId', rule: 'store.tag-invalid' }, 2)
  return t
}

export function storeTarget(repository: string, access: 'pull' | 'push', what?: string): Target {
  const ref = parseImageRef(repository)
  return { ref, what: what ?? ref.image, store: access }
}

export interface PushResult {
  store: StoreRecord
  image: DiskImage
  /** what the push cost: both blobs together */
  bytesSent: number
  blobsSkipped: number
  resumes: number
  restarts: number
  ms: number
}

export interface PushRequest {
  file: string
  repository: string
  tag: string
  bakeId: string
  meta: Omit<ImageMeta, 'bakeId' | 'tag'>
  env: Record<string, string | undefined>
  /** hex sha256 the bake recorded: the file must still be that */
  expectSha256?: string | null
  session?: RegistrySession
  onProgress?: (done: number, total: number) => void
  now?: () => Date
}

/** Push the qcow2, then verify it (every blob HEADed, the manifest fetched, digests compared). */
export async function pushDiskImage(req: PushRequest): Promise<PushResult> {
  const t0 = Date.now()
  const session = req.session ?? newSession(req.env)
  const layer = await describeDisk(req.file)
  if (req.expectSha256 && layer.sha256 !== req.expectSha256) {
    throw new ClawbakeError(`the qcow2 hashes to ${layer.sha256}, but the bake recorded ${req.expectSha256}: it changed since the gates passed; not pushing`, { file: req.file, rule: 'store.artifact-changed' }, 1)
  }
  const tag = immutableTag(req.tag, req.bakeId)
  const image = diskImage(layer, { ...req.meta, tag: req.tag, bakeId: req.bakeId })
  const target = storeTarget(req.repository, 'push', `${req.repository}:${tag}`)
  const chunkBytes = chunkBytesFromEnv(req.env)
  const stats: UploadStats[] = []
  stats.push(await uploadBytes(session, target, image.config, { chunkBytes }))
  stats.push(await uploadBlob(session, target, { digest: layer.digest, size: layer.layerSize, open: (s, e) => layerRange(layer, s, e) }, { chunkBytes, ...(req.onProgress ? { onProgress: req.onProgress } : {}) }))
  await putManifest(session, target, tag, image.manifest, OCI_MANIFEST)
  await verifyPushed(session, target, tag, {
    manifestDigest: image.manifestDigest,
    blobs: [{ digest: image.configDigest, size: image.config.length }, { digest: layer.digest, size: layer.layerSize }],
  })
  const repository = target.ref.image
  return {
    store: {
      reference: `${repository}:${tag}@${image.manifestDigest}`,
      repository, tag, manifestDigest: image.manifestDigest, layerDigest: layer.digest, sha256: layer.sha256, sizeBytes: layer.size,
      verifiedAt: (req.now?.() ?? new Date()).toISOString(),
    },
    image,
    bytesSent: stats.reduce((n, s) => n + s.bytesSent, 0) + image.manifest.length,
    blobsSkipped: stats.filter(s => s.skipped).length,
    resumes: stats.reduce((n, s) => n + s.resumes, 0),
    restarts: stats.reduce((n, s) => n + s.restarts, 0),
    ms: Date.now() - t0,
  }
}

/**
 * Point the channel tag at an image already in the store: the manifest is
 * fetched by digest and verified, PUT under the channel tag, and the tag is
 * fetched back; it must name the same digest.
 */
export async function moveChannelTag(store: Pick<StoreRecord, 'repository' | 'manifestDigest'>, channel: string, env: Record<string, string | undefined>, session?: RegistrySession): Promise<void> {
  const s = session ?? newSession(env)
  const target = storeTarget(store.repository, 'push', `${store.repository}:${channel}`)
  const m = await fetchManifest(s, target, store.manifestDigest, store.manifestDigest)
  await putManifest(s, target, channel, m.raw, m.mediaType)
  await fetchManifest(s, target, channel, store.manifestDigest)
}
