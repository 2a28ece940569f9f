// validate: `packer validate` of the template with this bake's variables.
import { ClawbakeError } from '../../errors.ts'
import { packerSource, packerValidate } from '../packer.ts'
import type { Prepared } from './prepare.ts'
import type { RunDir } from './run-dir.ts'
import { stage } from './stage.ts'

export const validate = stage('validate', async (ctx, { 'run-dir': run, prepare }: { 'run-dir': RunDir; prepare: Prepared }) => {
  const { builder } = ctx.req
  const v = await packerValidate({ ...run.packerRun, log: line => ctx.log(`validate: ${line}`) }, prepare.varFile, builder)
  if (v.code !== 0) {
    throw new ClawbakeError(`packer validate failed: ${v.output.trim().split('\n').filter(Boolean).slice(0, 12).join(' | ')}`, { file: 'packer/clawbake.pkr.hcl', rule: 'bake.packer-validate' }, 1)
  }
  return { value: null, detail: `template valid (packer ${run.packer.version}, source ${packerSource(builder)})` }
})
