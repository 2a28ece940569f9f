// build: `packer build`, its progress lines shown as they come. The gates run
// inside it (in the VM, or on this machine for the null builder); whether the
// build failed is judged by the gates stage, which reads what the run left.
import { packerBuild, type PackerResult } from '../packer.ts'
import type { Prepared } from './prepare.ts'
import type { RunDir } from './run-dir.ts'
import { stage } from './stage.ts'

export const build = stage('build', async (ctx, { 'run-dir': run, prepare }: { 'run-dir': RunDir; prepare: Prepared; validate: null }) => {
  const b: PackerResult = await packerBuild({ ...run.packerRun, progress: line => ctx.progress('build', `| ${line}`) }, prepare.varFile, ctx.req.builder)
  return { value: b, detail: b.code === 0 ? 'packer build finished' : `packer build failed (exit ${b.code})` }
})
