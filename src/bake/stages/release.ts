// release: when upstream published the tag (time to patch starts there):
// catalog/releases.json, else --released-at, else a watch of GitHub.
import { ClawbakeError } from '../../errors.ts'
import { readReleaseRecord, type ReleaseInfo } from '../release.ts'
import { stage } from './stage.ts'

export const release = stage('release', async (ctx, _: unknown) => {
  const { req, root, tag, channel, started, io } = ctx
  let info: ReleaseInfo | null = readReleaseRecord(root, tag)
  if (!info && req.releasedAt) {
    info = { tag, publishedAt: new Date(req.releasedAt).toISOString(), url: null, urgency: null, dueBy: null, advisories: [], source: '--released-at' }
  }
  if (!info) {
    const w = await ctx.deps.stages.watch({ root, env: io.env, now: started, channel, ...(req.repo ? { repo: req.repo } : {}), record: !req.dryRun })
    info = readReleaseRecord(root, tag)
    if (!info && w.latest && w.latest.tag.replace(/^v/, '') === tag) {
      info = { tag, publishedAt: new Date(w.latest.publishedAt).toISOString(), url: w.latest.url, urgency: w.urgency, dueBy: w.dueBy, advisories: w.advisories, source: 'GitHub (watch)' }
    }
  }
  if (!info) {
    throw new ClawbakeError(
      `no release record for ${tag}: catalog/releases.json has no entry and the watch did not report it as the latest ${channel} release; run \`clawbake watch\` or pass --released-at`,
      { file: 'catalog/releases.json', field: '/releases', rule: 'bake.release-unknown' },
      2,
    )
  }
  if (req.releasedAt) info.publishedAt = new Date(req.releasedAt).toISOString()
  return { value: info, detail: `${tag} published ${info.publishedAt} (${info.source}), urgency ${info.urgency ?? 'none'}${info.dueBy ? `, due ${info.dueBy}` : ''}` }
})
