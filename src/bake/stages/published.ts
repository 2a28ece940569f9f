// published: the same tag and digest already published on the channel is a
// no-op (unless --force); what is there is handed to the dry run's plan.
import { findPublished, readCatalog, type CatalogEntry } from '../../publish/catalog.ts'
import type { ResolvedImage } from '../contract.ts'
import { finish, step } from './stage.ts'

export const published = step('published', async (ctx, { resolve }: { resolve: ResolvedImage }) => {
  const { tag, channel } = ctx
  const existing: CatalogEntry | null = findPublished(readCatalog(ctx.root, channel), tag, resolve.digest) ?? null
  if (existing && !ctx.req.force) {
    ctx.progress('done', `${tag} ${resolve.digest} is already published on ${channel} (${existing.publishedAt}); nothing to do (--force bakes it again)`)
    return finish({ ...ctx.outcome, ok: true, noop: true, artifact: existing.artifact, gates: existing.gates })
  }
  return existing
})
