// boot-test (qemu): the qcow2 just captured and inspected, booted as a
// client's VM (src/boottest/) and compared with the build VM's identity that
// gates.sh recorded before the scrub. Publish comes only after it passed; a
// failure names the failed checks and keeps the evidence (overlays, serial
// logs, report) under the run directory.
import { existsSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { ClawbakeError } from '../../errors.ts'
import { bootTimeouts, failedChecks, runBootTest, type BootTestReport } from '../../boottest/boot-test.ts'
import { upgradeSource } from '../../boottest/previous.ts'
import { assertIdentity, type MachineIdentity } from '../../boottest/checks.ts'
import { DEFAULT_AVOTS_BASE_URL } from '../../gates/suite.ts'
import type { ResolvedImage } from '../contract.ts'
import type { Gated } from './gates.ts'
import type { Prepared } from './prepare.ts'
import { pinnedRef } from './resolve.ts'
import type { RunDir } from './run-dir.ts'
import { skipped, stage } from './stage.ts'

/** The identity gates.sh recorded in the build VM (downloaded into the run directory). */
export function readBuildIdentity(runDir: string): MachineIdentity {
  const file = join(runDir, 'build-identity.json')
  if (!existsSync(file)) throw new ClawbakeError('the build VM left no identity record (gates.sh writes it before the gates run)', { file, rule: 'bake.build-identity-missing' }, 1)
  let v: unknown
  try {
    v = JSON.parse(readFileSync(file, 'utf8'))
  } catch (e) {
    throw new ClawbakeError(`the build VM's identity record is not JSON: ${(e as Error).message}`, { file, rule: 'boot-test.identity-invalid' }, 1)
  }
  return assertIdentity(v, file)
}

export interface BootTested {
  report: BootTestReport
  buildVm: MachineIdentity
}

export const bootTest = stage('boot-test', async (ctx, { 'run-dir': run, gates, prepare, resolve }: { 'run-dir': RunDir; gates: Gated; prepare: Prepared; resolve: ResolvedImage }) => {
  const { req, io } = ctx
  // with --no-boot-test the image is published held: recorded and pushed, the channel does not move
  // a rehearsal of some gates never publishes: nothing to boot-test
  if (req.builder !== 'qemu' || !prepare.accelerator || !req.bootTest || req.onlyGates?.length) return skipped<BootTested | null>(null)
  const buildVm = readBuildIdentity(run.dir)
  const dir = join(run.dir, 'boot-test')
  // --upgrade-from: a client of the image clients run today is moved onto this one, and back
  const source = req.upgradeFrom && prepare.clock
    ? await upgradeSource({ ref: req.upgradeFrom, root: ctx.root, cwd: req.cwd ?? ctx.root, dir, env: io.env, log: line => ctx.progress('boot-test', `| ${line}`), accel: prepare.accelerator, clock: prepare.clock })
    : null
  const previous = source?.previous ?? null
  const clock = source?.clock ?? prepare.clock
  if (previous) ctx.progress('boot-test', `| upgrade from ${previous.what}${previous.pullMs !== null ? `, pulled in ${(previous.pullMs / 1000).toFixed(1)} s` : ''}${clock !== prepare.clock ? `; clock ${clock?.clock} for both (${clock?.why})` : ''}`)
  const { timeouts, timeScale } = bootTimeouts(prepare.accelerator, clock ?? undefined)
  const report = await runBootTest({
    image: join(ctx.root, gates.artifact.id), pinnedRef: pinnedRef(ctx.tag, resolve.digest), openclawVersion: ctx.tag, root: ctx.root,
    dir, accelerator: prepare.accelerator, ...(clock ? { clock } : {}), ...(previous ? { previous: { image: previous.image, what: previous.what } } : {}),
    avotsUpstream: (req.bootTestAvotsUrl ?? io.env.AVOTS_BASE_URL ?? DEFAULT_AVOTS_BASE_URL).replace(/\/+$/, ''),
    avotsApiKey: io.env.AVOTS_API_KEY ?? '', buildIdentity: buildVm, timeouts, timeScale, masker: ctx.masker,
    log: line => ctx.progress('boot-test', `| ${line}`), ...(req.signal ? { signal: req.signal } : {}),
  })
  ctx.outcome.bootTest = report
  if (!report.ok) {
    throw new ClawbakeError(
      `the boot test of the captured image failed: ${failedChecks(report)}; nothing was published (kept: ${relative(ctx.root, report.dir)})`,
      { file: gates.artifact.id, rule: 'bake.boot-test-failed' },
      1,
    )
  }
  return { value: { report, buildVm } as BootTested | null, detail: bootTestDetail(report) }
})

/** The progress line of a passed boot test. */
export function bootTestDetail(r: BootTestReport): string {
  const t = (s: string) => r.timings.find(x => x.stage === s)?.ms
  const sec = (ms: number | undefined) => (ms === undefined ? '?' : `${(ms / 1000).toFixed(0)} s`)
  return `${r.gates.length}/${r.gates.length} passed in ${sec(r.wallMs)} (boot 1: SSH ${sec(t('boot 1: boot to SSH'))}, first boot ${sec(t('boot 1: first boot done'))}, gateway ready ${sec(t('boot 1: gateway ready'))}; upgrade boot: gateway ready ${sec(t('boot 2: gateway ready'))}; rollback boot: gateway ready ${sec(t('boot 3: gateway ready'))})`
}
