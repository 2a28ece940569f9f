// `clawbake verify [--local] [--json] [--only id,id]`: the gate suite.
// Without --local it is the build VM's run (OpenClaw through docker compose);
// --local runs openclaw@<pinned version> from npm on this machine.
// Exit 0 only when every selected gate passed; 1 with the failing gates named.
import type { Command } from '../cli/command.ts'
import { commonOptions, parseCommandArgs } from '../cli/args.ts'
import { emitJson } from '../io.ts'
import { runGates } from './suite.ts'

const usage = 'clawbake verify [--local] [--json] [--only id,id,...]'

export const command: Command = {
  name: 'verify',
  summary: 'the gate suite (in the build VM, or --local against openclaw from npm)',
  usage,
  async run(argv, io) {
    const { values } = parseCommandArgs('verify', argv, { ...commonOptions, local: { type: 'boolean', default: false }, only: { type: 'string' } }, usage)
    const only = values.only === undefined ? undefined : values.only.split(',').map(s => s.trim()).filter(Boolean)
    const report = await runGates({
      mode: values.local ? 'local' : 'vm',
      root: io.cwd,
      env: io.env,
      ...(only ? { only } : {}),
      log: line => io.err(`${line}\n`),
    })
    if (values.json) emitJson(io, report)
    const failed = report.gates.filter(g => !g.ok)
    if (failed.length) {
      io.err(`verify: FAILED ${failed.length} of ${report.gates.length} gate(s): ${failed.map(g => g.id).join(', ')}\n`)
      for (const g of failed) io.err(`  ${g.id}: ${g.detail}\n`)
      return 1
    }
    io.err(`verify: all ${report.gates.length} gate(s) passed (openclaw ${report.openclawVersion})\n`)
    return 0
  },
}
