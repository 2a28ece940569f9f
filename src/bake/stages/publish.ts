// publish: only what passed: the catalog entry, the release notes, the
// CHANGELOG, and the qcow2 into the image store when there is one.
import { ClawbakeError } from '../../errors.ts'
import { publishImage } from '../../publish/publish.ts'
import type { ResolvedImage } from '../contract.ts'
import { gatesFor } from '../../gates/gate.ts'
import { DEFAULT_IMAGE } from '../defaults.ts'
import type { ReleaseInfo } from '../release.ts'
import type { BootTested } from './boot-test.ts'
import { requiredGates, type Gated } from './gates.ts'
import type { RunDir } from './run-dir.ts'
import { stage } from './stage.ts'

export const publish = stage('publish', async (ctx, { release, resolve, 'run-dir': run, gates, 'boot-test': booted }: { release: ReleaseInfo; resolve: ResolvedImage; 'run-dir': RunDir; gates: Gated; 'boot-test': BootTested | null }) => {
  const { req, io } = ctx
  if (req.onlyGates?.length) {
    const skipped = gatesFor(req.builder === 'null' ? 'local' : 'vm').filter(g => !req.onlyGates?.includes(g))
    throw new ClawbakeError(
      `a rehearsal of some gates never publishes: ${req.onlyGates.join(', ')} passed, ${skipped.join(', ')} did not run; the image was ${req.builder === 'qemu' ? 'inspected and ' : ''}kept unpublished at ${gates.artifact.id}`,
      { file: gates.artifact.id, field: '--rehearsal-gates', rule: 'bake.partial-gates' }, 1,
    )
  }
  const r = await publishImage({
    root: ctx.root, channel: ctx.channel, tag: ctx.tag, image: DEFAULT_IMAGE, digest: resolve.digest, platforms: resolve.platforms,
    artifact: gates.artifact, gates: gates.report, gateReportFile: run.reportPath, requiredGates: requiredGates(ctx),
    urgency: release.urgency, releasedAt: release.publishedAt, bakeStartedAt: ctx.started.toISOString(), now: io.now(),
    bakeId: run.bakeId, releaseUrl: release.url, advisories: release.advisories, masker: ctx.masker,
    // the channel moves only for an image whose boot test passed (a qcow2); otherwise it is recorded held
    env: io.env, imageRepo: req.imageRepo ?? null, bootTestPassed: booted?.report.ok === true, force: req.force,
    ...(req.builder === 'qemu' && !req.bootTest ? { heldReason: 'published without a boot test (--no-boot-test)' } : {}),
    ...(booted ? { buildVm: booted.buildVm, bootTest: { report: { ok: booted.report.ok, openclawVersion: booted.report.openclawVersion, mode: booted.report.mode, gates: booted.report.gates }, wallMs: booted.report.wallMs, identity: booted.report.identity } } : {}),
  })
  return { value: r, detail: `${r.files.join(', ')} (time to patch ${r.entry.timeToPatchHours} h)` }
})
