// `clawbake user-data --owner <telegram id> [--avots-key-file F]
// [--telegram-token-file F] [--avots-base-url URL] [--telegram-api-root URL]`:
// prints the cloud-init user-data for launching a
// VM from the golden image. Secrets from files or the environment
// (AVOTS_API_KEY, TELEGRAM_BOT_TOKEN, optional OPENCLAW_GATEWAY_TOKEN), never
// from argv; without a gateway token, first boot generates one.
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import type { Command } from '../cli/command.ts'
import { parseCommandArgs, commonOptions } from '../cli/args.ts'
import { ClawbakeError, usageError } from '../errors.ts'
import { emitJson } from '../io.ts'
import { buildUserData } from './user-data.ts'
import { allowEgressEntries, EGRESS_OFF } from './egress.ts'

const usage = 'clawbake user-data --owner <telegram id> [--avots-key-file F] [--telegram-token-file F] [--avots-base-url URL] [--telegram-api-root URL] [--allow-egress host[:port]]... [--no-egress-allowlist] [--json]   (secrets: files or AVOTS_API_KEY / TELEGRAM_BOT_TOKEN / OPENCLAW_GATEWAY_TOKEN)'

function secretFrom(file: string | undefined, envName: string, env: Record<string, string | undefined>, cwd: string, option: string): string {
  if (file) {
    const path = resolve(cwd, file)
    try {
      return readFileSync(path, 'utf8').trim()
    } catch (e) {
      throw new ClawbakeError(`cannot read ${option} (${(e as NodeJS.ErrnoException).code})`, { file: path, rule: 'user-data.secret-file' }, 2)
    }
  }
  return (env[envName] ?? '').trim()
}

export const command: Command = {
  name: 'user-data',
  summary: 'per-client cloud-init user-data for a VM launched from the golden image',
  usage,
  async run(argv, io) {
    const { values } = parseCommandArgs('user-data', argv, {
      ...commonOptions,
      owner: { type: 'string' },
      'avots-key-file': { type: 'string' },
      'telegram-token-file': { type: 'string' },
      'avots-base-url': { type: 'string' },
      'telegram-api-root': { type: 'string' },
      'allow-egress': { type: 'string', multiple: true },
      'no-egress-allowlist': { type: 'boolean', default: false },
      'state-disk': { type: 'string' },
    }, usage)
    if (values['no-egress-allowlist'] && values['allow-egress']?.length) throw usageError(`clawbake user-data: --no-egress-allowlist and --allow-egress exclude each other\nusage: ${usage}`, 'user-data.egress')
    const egressAllow = values['no-egress-allowlist'] ? EGRESS_OFF : await allowEgressEntries(values['allow-egress'] ?? [])
    if (!values.owner) throw usageError(`clawbake user-data: --owner <telegram id> is required\nusage: ${usage}`, 'user-data.owner')
    const text = await buildUserData(io.cwd, {
      owner: values.owner,
      avotsApiKey: secretFrom(values['avots-key-file'], 'AVOTS_API_KEY', io.env, io.cwd, '--avots-key-file'),
      telegramBotToken: secretFrom(values['telegram-token-file'], 'TELEGRAM_BOT_TOKEN', io.env, io.cwd, '--telegram-token-file'),
      gatewayToken: (io.env.OPENCLAW_GATEWAY_TOKEN ?? '').trim(),
      ...(values['avots-base-url'] ?? io.env.AVOTS_BASE_URL ? { avotsBaseUrl: (values['avots-base-url'] ?? io.env.AVOTS_BASE_URL ?? '').trim() } : {}),
      ...(values['telegram-api-root'] ? { telegramApiRoot: values['telegram-api-root'].trim() } : {}),
      egressAllow,
      ...(values['state-disk'] ? { stateDisk: values['state-disk'] } : {}),
    })
    if (egressAllow === EGRESS_OFF) io.err('user-data: WARNING: the egress allowlist is OFF (--no-egress-allowlist, recorded as EGRESS_ALLOW=off): the agent may reach any host\n')
    if (values.json) emitJson(io, { ok: true, owner: values.owner, userData: text })
    else io.out(text)
    io.err(`user-data: valid cloud-config for owner ${values.owner} (contains secrets: pass it to the VM, do not commit or log it)\n`)
    io.err(`user-data: the client's agent is kept across images only on a state disk: ${values['state-disk'] ? `first boot uses ${values['state-disk']}` : 'attach one with serial or label openclaw-state, or give --state-disk (docs/state.md)'}\n`)
    return 0
  },
}
