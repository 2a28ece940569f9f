// Per-client cloud-init user-data: the shipped first-boot snippet
// (packer/files/cloud-init.yaml) with client.env filled in. Secrets come from
// files or the environment, never from argv; the result is validated by
// cloud-init before anyone sees it.
import { readFileSync } from 'node:fs'
import { parseDocument, isMap, isSeq, type YAMLMap } from 'yaml'
import { ClawbakeError, usageError } from '../errors.ts'
import { projectPaths } from '../paths.ts'
import { validateCloudConfig } from './cloud-init.ts'
import { assertUrlEntry, EGRESS_OFF } from './egress.ts'

export const CLIENT_ENV_PATH = '/run/openclaw-provision/client.env'

export interface ClientValues {
  owner: string
  avotsApiKey: string
  telegramBotToken: string
  /** empty: first boot generates one */
  gatewayToken: string
  avotsBaseUrl?: string
  /** EGRESS_ALLOW: extra egress entries (egress.ts), or `off` by explicit choice; unset: the defaults only */
  egressAllow?: string[] | typeof EGRESS_OFF
}

export const OWNER_ID = /^[1-9][0-9]{0,19}$/
export const BOT_TOKEN = /^[0-9]{5,}:[A-Za-z0-9_-]{30,}$/
const PRINTABLE = /^[!-~]{8,}$/
const GATEWAY_TOKEN = /^[A-Za-z0-9._~-]{32,}$/

/** The same checks first-boot.sh makes, made here first so a bad value never reaches a VM. */
export function assertClientValues(v: ClientValues): void {
  if (!OWNER_ID.test(v.owner)) throw usageError(`--owner must be a numeric Telegram user id, got ${JSON.stringify(v.owner)}`, 'user-data.owner')
  if (!PRINTABLE.test(v.avotsApiKey)) throw new ClawbakeError('the avots API key is missing or malformed (give --avots-key-file F or AVOTS_API_KEY)', { field: 'AVOTS_API_KEY', rule: 'user-data.avots-key' }, 2)
  if (!BOT_TOKEN.test(v.telegramBotToken)) throw new ClawbakeError('the Telegram bot token is missing or malformed, expected <digits>:<token> (give --telegram-token-file F or TELEGRAM_BOT_TOKEN)', { field: 'TELEGRAM_BOT_TOKEN', rule: 'user-data.telegram-token' }, 2)
  if (v.gatewayToken && !GATEWAY_TOKEN.test(v.gatewayToken)) throw new ClawbakeError('OPENCLAW_GATEWAY_TOKEN must be at least 32 characters of [A-Za-z0-9._~-] (or unset: first boot generates one)', { field: 'OPENCLAW_GATEWAY_TOKEN', rule: 'user-data.gateway-token' }, 2)
  if (v.avotsBaseUrl !== undefined && !/^https?:\/\/\S+$/.test(v.avotsBaseUrl)) throw new ClawbakeError('AVOTS_BASE_URL must be an http(s) URL', { field: 'AVOTS_BASE_URL', rule: 'user-data.avots-base-url' }, 2)
}

/** Build and validate the user-data document (cloud-config text). */
export async function buildUserData(root: string, values: ClientValues): Promise<string> {
  assertClientValues(values)
  if (values.avotsBaseUrl) assertUrlEntry(values.avotsBaseUrl, 'AVOTS_BASE_URL')
  const file = projectPaths(root).cloudInit
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (e) {
    throw new ClawbakeError(`cannot read the first-boot snippet (${(e as NodeJS.ErrnoException).code})`, { file, rule: 'user-data.snippet-missing' }, 2)
  }
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
    ...(values.avotsBaseUrl ? [`AVOTS_BASE_URL=${values.avotsBaseUrl}`] : []),
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
