// check: the hardening policy over every artifact that goes into the image.
import { ClawbakeError } from '../../errors.ts'
import type { PinResult } from '../contract.ts'
import { stage } from './stage.ts'

export const check = stage('check', async (ctx, _: { pin: PinResult }) => {
  const report = await ctx.deps.stages.check({ root: ctx.root, env: ctx.io.env })
  if (!report.ok) {
    const first = report.findings[0]
    throw new ClawbakeError(
      `policy check failed with ${report.findings.length} finding(s): ${report.findings.slice(0, 5).map(f => `${f.file}: ${f.path}: [${f.rule}] ${f.message}`).join('; ')}; nothing was built or published`,
      { file: first?.file, field: first?.path, rule: 'bake.check-failed' },
      1,
    )
  }
  return { value: report, detail: `ok (${report.findings.length} findings)` }
})
