// build: `packer build`, its progress lines shown as they come. The gates run
// inside it (in the VM, or on this machine for the null builder); whether the
// build failed is judged by the gates stage, which reads what the run left.
import { gateStamper, type GateStamps } from '../gate-times.ts'
import { packerBuild, type PackerResult } from '../packer.ts'
import type { Prepared } from './prepare.ts'
import type { RunDir } from './run-dir.ts'
import { stage } from './stage.ts'

/** Packer's result, and when (on this machine's clock) the gate run's lines arrived. */
export interface Built extends PackerResult {
  gateStamps: GateStamps
}

export const build = stage('build', async (ctx, { 'run-dir': run, prepare }: { 'run-dir': RunDir; prepare: Prepared; validate: null }) => {
  const stamper = gateStamper()
  const b: PackerResult = await packerBuild({
    ...run.packerRun,
    progress: line => {
      stamper.observe(line)
      ctx.progress('build', `| ${line}`)
    },
  }, prepare.varFile, ctx.req.builder)
  return { value: { ...b, gateStamps: stamper.stamps } satisfies Built, detail: b.code === 0 ? 'packer build finished' : `packer build failed (exit ${b.code})` }
})
