// `clawbake check [--config F] [--compose F] [--user-data F] [--json]`: the hardening policy,
// the pinned OpenClaw's own schema and `config validate`, cloud-init and
// shellcheck over the shipped artifacts. Exit 1 on any finding.
import type { Command } from '../cli/command.ts'
import { parseCommandArgs, commonOptions } from '../cli/args.ts'
import { emitJson } from '../io.ts'
import { checkArtifacts } from './check.ts'

const usage = 'clawbake check [--config packer/files/openclaw.json] [--compose packer/files/docker-compose.yml] [--user-data F] [--json]'

export const command: Command = {
  name: 'check',
  summary: 'hardening policy + upstream config schema + cloud-init over every shipped artifact',
  usage,
  async run(argv, io) {
    const { values } = parseCommandArgs('check', argv, {
      ...commonOptions,
      config: { type: 'string' },
      compose: { type: 'string' },
      'user-data': { type: 'string' },
    }, usage)
    const started = Date.now()
    const report = await checkArtifacts({ root: io.cwd, env: io.env, config: values.config, compose: values.compose, userData: values['user-data'] })
    for (const f of report.findings) io.err(`${f.file}: ${f.path}: [${f.rule}] ${f.message}\n`)
    io.err(report.ok
      ? `check: ok, no findings (${Date.now() - started} ms)\n`
      : `check: ${report.findings.length} finding(s) (${Date.now() - started} ms)\n`)
    if (values.json) emitJson(io, report)
    return report.ok ? 0 : 1
  },
}
