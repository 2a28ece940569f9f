// pin: the digest resolved above into the compose file, pins.lock.json and
// the CHANGELOG, nothing else.
import { ClawbakeError } from '../../errors.ts'
import { readPinRecord } from '../../pins/record.ts'
import type { ReleaseInfo } from '../release.ts'
import type { ResolvedImage } from '../contract.ts'
import { stage } from './stage.ts'

export const pin = stage('pin', async (ctx, { release, resolve }: { release: ReleaseInfo; resolve: ResolvedImage }) => {
  const { tag, paths } = ctx
  const p = await ctx.deps.stages.pin(resolve, { root: ctx.root, now: ctx.started, ...(release.url ? { sourceRelease: release.url } : {}) })
  const record = readPinRecord(paths.pinsLock)
  if (record.tag !== tag || record.digest !== resolve.digest) {
    throw new ClawbakeError(`after pinning, pins.lock.json says ${record.tag} ${record.digest}, not ${tag} ${resolve.digest}`, { file: paths.pinsLock, field: '/digest', rule: 'bake.pin-mismatch' }, 1)
  }
  return { value: p, detail: p.changed ? `pinned ${tag} ${resolve.digest} (${p.files.join(', ')})` : `unchanged (already ${tag} ${resolve.digest})` }
})
