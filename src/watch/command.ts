// `clawbake watch [--channel stable|extended-stable] [--repo owner/name] [--json] [--no-record]`
import type { Command } from '../cli/command.ts'
import { commonOptions, parseCommandArgs } from '../cli/args.ts'
import { usageError } from '../errors.ts'
import { emitJson, type Io } from '../io.ts'
import { CHANNELS, type Channel } from '../releases/version.ts'
import { watchReleases, type WatchResult } from './watch.ts'

const usage = 'clawbake watch [--channel stable|extended-stable] [--repo owner/name] [--json] [--no-record]'

function describe(r: WatchResult): string {
  const lines = [`current  ${r.current.tag} ${r.current.digest}`]
  if (r.latest) lines.push(`latest   ${r.latest.tag} (${r.channel}) published ${r.latest.publishedAt} ${r.latest.url}`)
  if (r.action === 'up-to-date') lines.push('action   up-to-date: nothing to bake')
  else {
    lines.push(`action   bake ${r.latest?.tag}: ${r.urgency}, due by ${r.dueBy}${r.overdue ? ' (OVERDUE)' : ''}`)
    for (const a of r.advisories) lines.push(`         fixes ${a.ghsaId}${a.cveId ? ` ${a.cveId}` : ''} (${a.severity})`)
    for (const why of r.reasons) lines.push(`         because ${why}`)
  }
  lines.push(`github   ${r.requests.total} request(s), ${r.requests.notModified} answered 304${r.recorded ? '; catalog/releases.json updated' : ''}`)
  return lines.join('\n') + '\n'
}

export const command: Command = {
  name: 'watch',
  summary: 'newest eligible upstream release vs the current pin; urgency and due date',
  usage,
  async run(argv: string[], io: Io): Promise<number> {
    const { values } = parseCommandArgs('watch', argv, {
      ...commonOptions,
      channel: { type: 'string', default: 'stable' },
      repo: { type: 'string' },
      'no-record': { type: 'boolean', default: false },
    }, usage)
    const channel = values.channel as string
    if (!CHANNELS.includes(channel as Channel)) {
      throw usageError(`clawbake watch: --channel must be one of ${CHANNELS.join(', ')}, got "${channel}"\nusage: ${usage}`, 'watch.channel-unknown')
    }
    const result = await watchReleases({
      root: io.cwd,
      env: io.env,
      now: io.now(),
      channel: channel as Channel,
      ...(values.repo !== undefined ? { repo: values.repo } : {}),
      record: !values['no-record'],
      warn: line => io.err(`clawbake watch: warning: ${line}\n`),
    })
    if (values.json) emitJson(io, result)
    else io.err(describe(result))
    return 0
  },
}
