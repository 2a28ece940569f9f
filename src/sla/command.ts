// `clawbake sla [--json] [--markdown] [--fail-on-breach] [--open] [--channel C]`:
// time-to-patch per release from catalog/releases.json (watch) and
// catalog/<channel>.json (bake publish), open releases with the time left,
// breaches by urgency. Exit 1 with --fail-on-breach when any release shown
// breached its SLA.
import type { Command } from '../cli/command.ts'
import { commonOptions, parseCommandArgs } from '../cli/args.ts'
import { usageError } from '../errors.ts'
import { emitJson } from '../io.ts'
import { CHANNELS, type Channel } from '../releases/version.ts'
import { readSlaRecords } from './records.ts'
import { markdown, text } from './render.ts'
import { slaReport } from './report.ts'

const usage = 'clawbake sla [--json | --markdown] [--fail-on-breach] [--open] [--channel stable|extended-stable] [--at ISO-TIME]'

const options = {
  ...commonOptions,
  markdown: { type: 'boolean', default: false },
  'fail-on-breach': { type: 'boolean', default: false },
  open: { type: 'boolean', default: false },
  channel: { type: 'string' },
  /** report as of this instant instead of now (reproduce a past report) */
  at: { type: 'string' },
} as const

export const command: Command = {
  name: 'sla',
  summary: 'time-to-patch per release, open releases and SLA breaches (critical 24 h, routine 7 days)',
  usage,
  async run(argv, io) {
    const { values } = parseCommandArgs('sla', argv, options, usage)
    if (values.json && values.markdown) throw usageError(`clawbake sla: --json and --markdown are two different outputs; choose one\nusage: ${usage}`)
    const channel = values.channel
    if (channel !== undefined && !CHANNELS.includes(channel as Channel)) {
      throw usageError(`clawbake sla: --channel must be one of ${CHANNELS.join(', ')}, got "${channel}"\nusage: ${usage}`)
    }

    let now = io.now()
    if (values.at !== undefined) {
      const at = Date.parse(values.at)
      if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(values.at) || Number.isNaN(at)) {
        throw usageError(`clawbake sla: --at must be an ISO 8601 date-time with a time zone (e.g. 2026-11-20T12:00:00Z), got "${values.at}"\nusage: ${usage}`)
      }
      now = new Date(at)
    }

    const report = slaReport(readSlaRecords(io.cwd), now, {
      channel: channel as Channel | undefined,
      openOnly: values.open,
    })

    if (values.json) emitJson(io, report)
    else if (values.markdown) io.out(markdown(report))
    if (values.json || values.markdown) {
      const b = report.breaches
      io.err(`sla: ${report.releases.length} release(s), ${report.open.length} open, ${b.total} breach(es) (critical ${b.critical}, routine ${b.routine})\n`)
    } else {
      io.err(text(report))
    }
    return values['fail-on-breach'] && !report.ok ? 1 : 0
  },
}
