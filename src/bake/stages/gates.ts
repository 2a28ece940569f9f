// gates: the gate report the build left is the only thing that decides
// publication. A failed build is reported by what failed in it (a gate, the
// gate run, Packer); a finished one must have written this run's manifest,
// its custom data must be this bake, and every gate must have passed.
import { existsSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { ClawbakeError } from '../../errors.ts'
import { hashFile } from '../../file-hash.ts'
import { tail } from '../../proc/run.ts'
import type { CatalogArtifact } from '../../publish/catalog.ts'
import { assertGatesPassed } from '../../publish/publish.ts'
import { assertSchema } from '../../schema/assert.ts'
import type { GateReport, ResolvedImage } from '../contract.ts'
import { gatesFor, type GuestClock } from '../../gates/gate.ts'
import { MANIFEST_SCHEMA } from '../defaults.ts'
import type { Masker } from '../mask.ts'
import { withHostTimes } from '../gate-times.ts'
import type { Builder } from '../packer.ts'
import type { Built } from './build.ts'
import type { Prepared } from './prepare.ts'
import { pinnedRef } from './resolve.ts'
import type { RunDir } from './run-dir.ts'
import { stage, type BakeContext } from './stage.ts'

export interface Gated {
  report: GateReport
  /** the built image: a qcow2 under the root (hashed), or the builder's artifact id */
  artifact: CatalogArtifact
}

interface PackerManifest {
  builds: { name: string; builder_type: string; artifact_id: string; files: { name: string; size: number }[] | null; packer_run_uuid: string; custom_data?: Record<string, string> }[]
  last_run_uuid: string
}

export const gates = stage('gates', async (ctx, { resolve, 'run-dir': run, build, prepare }: { resolve: ResolvedImage; 'run-dir': RunDir; build: Built; prepare: Prepared }) => {
  const { req, masker, tag, root } = ctx
  const { manifestPath, reportPath } = run
  if (build.guestPanic) {
    const serial = join(run.dir, 'serial.log')
    ctx.progress('gates', `FAILED: the build VM's kernel panicked`)
    throw new ClawbakeError(`the build VM's kernel panicked (${build.guestPanic.reason}); Packer was stopped and nothing was published; serial console (${serial}): ${masker.mask(build.guestPanic.evidence)}`, { file: serial, rule: 'bake.guest-panic' }, 1)
  }
  if (req.signal?.aborted) throw new ClawbakeError('interrupted: Packer was stopped (it stops the VM and removes what it made); nothing was published', { rule: 'bake.interrupted' }, 2)
  const read = readGateReport(reportPath, masker)
  const report = read && withHostTimes(read, build.gateStamps, guestClockOf(req.builder, prepare))
  const reportLeaked = existsSync(reportPath) && masker.mask(readFileSync(reportPath, 'utf8')) !== readFileSync(reportPath, 'utf8')
  ctx.outcome.gates = report
  if (build.code !== 0) buildFailed(ctx, run, build, report)

  if (!existsSync(manifestPath)) throw new ClawbakeError('packer build succeeded but wrote no manifest', { file: manifestPath, rule: 'bake.manifest-missing' }, 1)
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as PackerManifest
  const mine = manifest.builds.filter(b => b.packer_run_uuid === manifest.last_run_uuid)
  if (mine.length !== 1) throw new ClawbakeError(`expected one build of this run in the manifest, found ${mine.length}`, { file: manifestPath, field: '/builds', rule: 'bake.manifest-invalid' }, 1)
  const b = mine[0] as PackerManifest['builds'][number]
  const custom = assertSchema<Record<string, string>>(MANIFEST_SCHEMA, b.custom_data ?? {}, manifestPath, 'bake.manifest-invalid')
  for (const [field, want] of [['tag', tag], ['index_digest', resolve.digest], ['openclaw_image', pinnedRef(tag, resolve.digest)], ['bake_id', run.bakeId], ['gate_report', reportPath]] as const) {
    if (custom[field] !== want) throw new ClawbakeError(`custom_data.${field} is "${custom[field]}", expected "${want}"`, { file: manifestPath, field: `/custom_data/${field}`, rule: 'bake.manifest-mismatch' }, 1)
  }
  if (!report) throw new ClawbakeError('the gate run left no report', { file: reportPath, rule: 'publish.gate-failed' }, 1)
  if (reportLeaked) throw new ClawbakeError('the gate report contains a secret value (shown masked here); nothing was published', { file: reportPath, rule: 'publish.secret-leak' }, 1)
  assertGatesPassed(report, requiredGates(ctx), reportPath)
  const artifact = await artifactOf(req.builder, b, root)
  ctx.outcome.artifact = artifact
  return { value: { report, artifact } satisfies Gated, detail: `${report.gates.length}/${report.gates.length} passed (OpenClaw ${report.openclawVersion}): ${custom.gate_summary ?? ''}` }
})

/** the clock the gates' own durations ran on: this machine (null builder), the build VM's accelerator and TCG clock, or a cloud instance */
function guestClockOf(builder: Builder, prepare: Prepared): GuestClock {
  if (builder === 'null') return 'host'
  if (builder !== 'qemu') return 'cloud'
  if (prepare.accelerator === 'kvm') return 'kvm'
  return prepare.clock?.clock === 'instructions' ? 'tcg-instructions' : 'tcg-real'
}

/** The gates this build ran and must have passed: all of them, or a rehearsal's `--rehearsal-gates` (which never publishes). */
export function requiredGates(ctx: BakeContext): readonly string[] {
  return ctx.req.onlyGates?.length ? ctx.req.onlyGates : gatesFor(ctx.req.builder === 'null' ? 'local' : 'vm')
}

/** Why the build failed, most specific first: a failed gate, the gate run's status, Packer's errors (and the serial console). */
function buildFailed(ctx: BakeContext, run: RunDir, build: Built, report: GateReport | null): never {
  const { masker } = ctx
  const statusPath = join(run.dir, 'gate-status')
  const gateStatus = existsSync(statusPath) ? masker.mask(readFileSync(statusPath, 'utf8').split('\n')[0] ?? '') : 'no gate status (the gate run did not finish)'
  if (report) {
    try {
      assertGatesPassed(report, requiredGates(ctx), run.reportPath)
    } catch (e) {
      ctx.progress('gates', `FAILED: ${(e as Error).message}`)
      throw e
    }
  }
  if (gateStatus !== 'passed') {
    ctx.progress('gates', `FAILED: ${gateStatus}`)
    throw new ClawbakeError(`gate run failed: ${gateStatus}; nothing was published`, { file: run.reportPath, rule: 'publish.gate-failed' }, 1)
  }
  const serial = join(run.dir, 'serial.log')
  const serialTail = ctx.req.builder === 'qemu' && existsSync(serial) ? `; serial console (${serial}): ${tail(masker.mask(readFileSync(serial, 'utf8').replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '')), 15)}` : ''
  throw new ClawbakeError(`packer build failed: ${[...new Set(build.errors)].slice(0, 5).join(' | ') || `exit ${build.code}`}${serialTail}; nothing was published`, { file: 'packer/clawbake.pkr.hcl', rule: 'bake.packer-build' }, 1)
}

/** The gate report the run left, or null when there is none or it is not a gate report (a crashed runner). */
function readGateReport(file: string, masker: Masker): GateReport | null {
  if (!existsSync(file)) return null
  try {
    const v = JSON.parse(masker.mask(readFileSync(file, 'utf8'))) as GateReport
    if (typeof v === 'object' && v !== null && typeof v.ok === 'boolean' && Array.isArray(v.gates) && v.gates.length > 0) return v
  } catch { /* not JSON: treated as no report */ }
  return null
}

async function artifactOf(builder: Builder, b: { artifact_id: string; files: { name: string; size: number }[] | null }, root: string): Promise<CatalogArtifact> {
  if (builder === 'qemu') {
    const f = (b.files ?? []).find(x => x.name.endsWith('.qcow2')) ?? b.files?.[0]
    if (!f) throw new ClawbakeError('the qemu build reported no image file', { field: '/builds/files', rule: 'bake.artifact-missing' }, 1)
    const abs = f.name.startsWith('/') ? f.name : join(root, 'packer', f.name)
    return { builder, id: relative(root, abs), sha256: await hashFile(abs), sizeBytes: statSync(abs).size }
  }
  return { builder, id: b.artifact_id, sha256: null, sizeBytes: null }
}
