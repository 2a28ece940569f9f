// resolve: the one and only time the digest is looked up; everything
// downstream (pin, Packer, publish) gets this value.
import { existsSync } from 'node:fs'
import { ClawbakeError } from '../../errors.ts'
import { readPinRecord } from '../../pins/record.ts'
import type { ResolvedImage } from '../contract.ts'
import { DEFAULT_IMAGE, DIGEST_RE } from '../defaults.ts'
import { stage } from './stage.ts'

/** The reference the image is baked with: always ghcr.io/openclaw/openclaw, tag and digest. */
export function pinnedRef(tag: string, digest: string): string {
  return `${DEFAULT_IMAGE}:${tag}@${digest}`
}

export const resolve = stage('resolve', async (ctx, _: unknown) => {
  const { req, tag, paths, registryImage } = ctx
  let r: ResolvedImage
  if (req.digest) {
    const pin = existsSync(paths.pinsLock) ? readPinRecord(paths.pinsLock) : null
    const same = pin && pin.tag === tag && pin.digest === req.digest
    r = { image: DEFAULT_IMAGE, tag, digest: req.digest, mediaType: same ? pin.mediaType : 'application/vnd.oci.image.index.v1+json', platforms: same ? pin.platforms : [] }
    ctx.outcome.digest = r.digest
    return { value: r, detail: `${DEFAULT_IMAGE}:${tag} -> ${r.digest} (given with --digest: not looked up on a registry)` }
  }
  r = await ctx.deps.stages.resolve({ image: registryImage, tag }, { env: ctx.io.env, allowPrerelease: req.allowPrerelease ?? false })
  if (r.tag !== tag || !DIGEST_RE.test(r.digest)) {
    throw new ClawbakeError(`resolve returned ${r.tag} ${r.digest} for ${tag}`, { field: 'digest', rule: 'bake.resolve-invalid' }, 1)
  }
  ctx.outcome.digest = r.digest
  return { value: r, detail: `${registryImage}:${tag} -> ${r.digest} (${r.mediaType.includes('index') || r.mediaType.includes('list') ? 'index' : 'manifest'}, ${r.platforms.length} platform${r.platforms.length === 1 ? '' : 's'})` }
})
