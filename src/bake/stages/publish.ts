// publish: only what passed: the catalog entry, the release notes, the
// CHANGELOG, and the qcow2 into the image store when there is one.
import { publishImage } from '../../publish/publish.ts'
import { GATE_IDS, type ResolvedImage } from '../contract.ts'
import { DEFAULT_IMAGE } from '../defaults.ts'
import type { ReleaseInfo } from '../release.ts'
import type { Gated } from './gates.ts'
import type { RunDir } from './run-dir.ts'
import { stage } from './stage.ts'

export const publish = stage('publish', async (ctx, { release, resolve, 'run-dir': run, gates }: { release: ReleaseInfo; resolve: ResolvedImage; 'run-dir': RunDir; gates: Gated }) => {
  const { req, io } = ctx
  const r = await publishImage({
    root: ctx.root, channel: ctx.channel, tag: ctx.tag, image: DEFAULT_IMAGE, digest: resolve.digest, platforms: resolve.platforms,
    artifact: gates.artifact, gates: gates.report, gateReportFile: run.reportPath, requiredGates: GATE_IDS,
    urgency: release.urgency, releasedAt: release.publishedAt, bakeStartedAt: ctx.started.toISOString(), now: io.now(),
    bakeId: run.bakeId, releaseUrl: release.url, advisories: release.advisories, masker: ctx.masker,
    // no boot-test stage yet: the channel moves by `clawbake channel set` after one
    env: io.env, imageRepo: req.imageRepo ?? null, bootTestPassed: false, force: req.force,
  })
  return { value: r, detail: `${r.files.join(', ')} (time to patch ${r.entry.timeToPatchHours} h)` }
})
