// done: the last line of a published bake, and its outcome.
import type { PublishResult } from '../../publish/publish.ts'
import type { ResolvedImage } from '../contract.ts'
import { finish, step } from './stage.ts'

export const done = step('done', async (ctx, { resolve, publish }: { resolve: ResolvedImage; publish: PublishResult }) => {
  const { artifact } = publish.entry
  ctx.progress('done', `published OpenClaw ${ctx.tag} ${resolve.digest} on ${ctx.channel}: ${artifact.builder} ${artifact.id}`)
  return finish({ ...ctx.outcome, ok: true, published: true, files: publish.files })
})
