// Per-client cloud-init user-data: the shipped first-boot snippet
// (packer/files/cloud-init.yaml) with client.env filled in. Secrets come from
// files or the environment, never from argv; the result is validated by
// cloud-init before anyone sees it.
import { readFileSync } from 'node:fs'
import { parseDocument, isMap, isSeq, type YAMLMap } from 'yaml'
import { ClawbakeError } from '../errors.ts'
import { projectPaths } from '../paths.ts'
import { validateCloudConfig } from './cloud-init.ts'
import { endpointProblem, normalizeEndpoint } from './endpoint.ts'
import { structuredSecrets, textSecrets } from '../policy/secrets.ts'
import { assertUrlEntry, EGRESS_OFF } from './egress.ts'

export const CLIENT_ENV_PATH = '/run/openclaw-provision/client.env'

export interface ClientValues {
  owner: string
  avotsApiKey: string
  telegramBotToken: string
  /** empty: first boot generates one */
  gatewayToken: string
  /** the avots (OpenAI-compatible) base URL; default https://api.avots.ai/openai/v1 */
  avotsBaseUrl?: string
  /** a self-hosted Telegram Bot API server; default https://api.telegram.org */
  telegramApiRoot?: string
  /** EGRESS_ALLOW: extra egress entries (egress.ts), or `off` by explicit choice; unset: the defaults only */
  egressAllow?: string[] | typeof EGRESS_OFF
  /** STATE_DISK: the client's state disk by device path, where neither its label nor its serial finds it (docs/state.md) */
  stateDisk?: string
}

export const OWNER_ID = /^[1-9][0-9]{0,19}$/
export const BOT_TOKEN = /^[0-9]{5,}:[A-Za-z0-9_-]{30,}$/
const PRINTABLE = /^[!-~]{8,}$/
const GATEWAY_TOKEN = /^[A-Za-z0-9._~-]{32,}$/
/** the same rule as first-boot.sh's: a device path under /dev */
export const STATE_DISK = /^\/dev\/[A-Za-z0-9/._:-]+$/

/** The same checks first-boot.sh makes, made here first so a bad value never reaches a VM. */
export function assertClientValues(v: ClientValues): void {
  if (!OWNER_ID.test(v.owner)) throw new ClawbakeError(`--owner must be a numeric Telegram user id, got ${JSON.stringify(v.owner)}`, { field: 'OWNER_TELEGRAM_ID (--owner)', rule: 'user-data.owner' }, 2)
  if (!PRINTABLE.test(v.avotsApiKey)) throw new ClawbakeError('the avots API key is missing or malformed (give --avots-key-file F or AVOTS_API_KEY)', { field: 'AVOTS_API_KEY', rule: 'user-data.avots-key' }, 2)
  if (!BOT_TOKEN.test(v.telegramBotToken)) throw new ClawbakeError('the Telegram bot token is missing or malformed, expected <digits>:<token> (give --telegram-token-file F or TELEGRAM_BOT_TOKEN)', { field: 'TELEGRAM_BOT_TOKEN', rule: 'user-data.telegram-token' }, 2)
  if (v.gatewayToken && !GATEWAY_TOKEN.test(v.gatewayToken)) throw new ClawbakeError('OPENCLAW_GATEWAY_TOKEN must be at least 32 characters of [A-Za-z0-9._~-] (or unset: first boot generates one)', { field: 'OPENCLAW_GATEWAY_TOKEN', rule: 'user-data.gateway-token' }, 2)
  if (v.stateDisk !== undefined && (!STATE_DISK.test(v.stateDisk) || v.stateDisk.includes('..'))) throw new ClawbakeError(`--state-disk must be a device path under /dev (e.g. /dev/nvme1n1, /dev/disk/by-id/...), got ${JSON.stringify(v.stateDisk)}`, { field: 'STATE_DISK (--state-disk)', rule: 'user-data.state-disk' }, 2)
  for (const [value, field, rule] of [[v.avotsBaseUrl, 'AVOTS_BASE_URL (--avots-base-url)', 'user-data.avots-base-url'], [v.telegramApiRoot, 'TELEGRAM_API_ROOT (--telegram-api-root)', 'user-data.telegram-api-root']] as const) {
    const why = value === undefined ? null : endpointProblem(value)
    if (why) throw new ClawbakeError(why, { field, rule }, 2)
  }
}

/** Build and validate the user-data document (cloud-config text). */
export async function buildUserData(root: string, values: ClientValues): Promise<string> {
  assertClientValues(values)
  if (values.avotsBaseUrl) assertUrlEntry(values.avotsBaseUrl, 'AVOTS_BASE_URL')
  if (values.telegramApiRoot) assertUrlEntry(values.telegramApiRoot, 'TELEGRAM_API_ROOT')
  const file = projectPaths(root).cloudInit
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (e) {
    throw new ClawbakeError(`cannot read the first-boot snippet (${(e as NodeJS.ErrnoException).code})`, { file, rule: 'user-data.snippet-missing' }, 2)
  }
  // the client's secrets go into client.env; the config first boot renders must hold none of its own
  const config = projectPaths(root).openclawConfig
  let configText = ''
  try {
    configText = readFileSync(config, 'utf8')
  } catch (e) {
    throw new ClawbakeError(`cannot read the shipped OpenClaw config (${(e as NodeJS.ErrnoException).code})`, { file: config, rule: 'user-data.config-missing' }, 2)
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(configText)
  } catch (e) {
    throw new ClawbakeError(`the shipped OpenClaw config is not JSON: ${(e as Error).message}`, { file: config, rule: 'user-data.config-invalid' }, 2)
  }
  const leak = [...structuredSecrets(parsed, config), ...textSecrets(configText, config), ...textSecrets(text, file)][0]
  if (leak) throw new ClawbakeError(`refusing to make user-data for a config with a plaintext secret: ${leak.message}`, { file: leak.file, field: leak.path, rule: 'user-data.plaintext-secret' }, 1)
  const doc = parseDocument(text)
  const writeFiles = doc.get('write_files')
  const entry = isSeq(writeFiles) ? writeFiles.items.find(i => isMap(i) && i.get('path') === CLIENT_ENV_PATH) as YAMLMap | undefined : undefined
  if (doc.errors.length || !entry) {
    throw new ClawbakeError(`the first-boot snippet has no write_files entry for ${CLIENT_ENV_PATH}`, { file, field: 'write_files', rule: 'user-data.snippet-invalid' }, 2)
  }
  const lines = [
    `OWNER_TELEGRAM_ID=${values.owner}`,
    `AVOTS_API_KEY=${values.avotsApiKey}`,
    `TELEGRAM_BOT_TOKEN=${values.telegramBotToken}`,
    `OPENCLAW_GATEWAY_TOKEN=${values.gatewayToken}`,
    ...(values.avotsBaseUrl ? [`AVOTS_BASE_URL=${normalizeEndpoint(values.avotsBaseUrl)}`] : []),
    ...(values.telegramApiRoot ? [`TELEGRAM_API_ROOT=${normalizeEndpoint(values.telegramApiRoot)}`] : []),
    ...(values.stateDisk ? [`STATE_DISK=${values.stateDisk}`] : []),
    ...(values.egressAllow === EGRESS_OFF || values.egressAllow?.length ? [`EGRESS_ALLOW=${values.egressAllow === EGRESS_OFF ? EGRESS_OFF : values.egressAllow.join(',')}`] : []),
  ]
  entry.set('content', lines.join('\n') + '\n')
  doc.commentBefore = ` Per-client user-data for Telegram owner ${values.owner}: contains secrets, keep it out of git and logs.\n${doc.commentBefore ?? ''}`
  let out = doc.toString({ lineWidth: 0 })
  if (!out.startsWith('#cloud-config')) out = `#cloud-config\n${out.replace(/^#cloud-config\n/m, '')}`
  const verdict = await validateCloudConfig(out)
  if (!verdict.valid) {
    const secrets = [values.avotsApiKey, values.telegramBotToken, values.gatewayToken].filter(v => v.length >= 8)
    const scrub = (line: string) => secrets.reduce((l, v) => l.replaceAll(v, '***'), line)
    throw new ClawbakeError(`cloud-init rejects the generated user-data: ${verdict.errors.map(scrub).join('; ')}`, { file, rule: 'user-data.cloud-init-invalid' }, 1)
  }
  return out
}
