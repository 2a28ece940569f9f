// openclaw.json invariants a JSON Schema cannot express: relations between
// two places of the file, and between the file and .env.example.
import type { Finding } from './finding.ts'
import { jsonEnvRefs, composeEnvRefs } from './env-refs.ts'
import { endpointProblem } from '../provision/endpoint.ts'

/** The placeholder the shipped template carries; first boot replaces it with the owner's numeric id. */
export const OWNER_PLACEHOLDER = '${OWNER_TELEGRAM_ID}'

type Json = Record<string, unknown>
const obj = (v: unknown): Json | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined)

/** openclaw.model-allowlist: the primary model is in agents.defaults.models (the allowlist half). */
export function modelAllowlist(config: unknown, file: string): Finding[] {
  const defaults = obj(obj(obj(config)?.agents)?.defaults)
  const primary = obj(defaults?.model)?.primary
  if (typeof primary !== 'string') return [] // openclaw.primary-model reports it
  const allow = obj(defaults?.models)
  if (allow && Object.hasOwn(allow, primary) && Object.keys(allow).length > 0) return []
  return [{
    rule: 'openclaw.model-allowlist',
    file,
    path: '/agents/defaults/models',
    message: `the primary model ${primary} must be in the agents' model allowlist (agents.defaults.models): both halves, or OpenClaw refuses the model`,
  }]
}

/**
 * openclaw.owner-binding: the one allowFrom entry is the owner, and the owner
 * (and only the owner) has a toolsBySender key `id:<owner>`; the id is the
 * template placeholder or a numeric Telegram id (a provisioned file).
 */
export function ownerBinding(config: unknown, file: string): Finding[] {
  const allowFrom = obj(obj(obj(config)?.channels)?.telegram)?.allowFrom
  const bySender = obj(obj(obj(config)?.tools)?.toolsBySender)
  if (!Array.isArray(allowFrom) || allowFrom.length !== 1 || typeof allowFrom[0] !== 'string' || !bySender) return [] // schema rules report these
  const owner = allowFrom[0]
  const fail = (path: string, message: string): Finding[] => [{ rule: 'openclaw.owner-binding', file, path, message }]
  if (owner !== OWNER_PLACEHOLDER && !/^[1-9][0-9]{0,19}$/.test(owner)) {
    return fail('/channels/telegram/allowFrom/0', `the owner must be the placeholder ${OWNER_PLACEHOLDER} (template) or a numeric Telegram user id (provisioned), not ${JSON.stringify(owner)}`)
  }
  const others = Object.keys(bySender).filter(k => k !== '*' && k !== `id:${owner}`)
  if (!Object.hasOwn(bySender, `id:${owner}`)) {
    return fail('/tools/toolsBySender', `toolsBySender must grant the owner's tools under "id:${owner}", the id in channels.telegram.allowFrom${others.length ? ` (found ${others.map(k => JSON.stringify(k)).join(', ')})` : ''}`)
  }
  if (others.length) {
    return fail('/tools/toolsBySender', `toolsBySender may name only the owner ("id:${owner}") and "*"; also found ${others.map(k => JSON.stringify(k)).join(', ')}`)
  }
  return []
}

/** env.undeclared: every ${VAR} the config and the compose file use is declared in .env.example. */
export function envDeclared(opts: { config?: unknown; configFile: string; composeText?: string; composeFile: string; declared: Set<string>; envFile: string }): Finding[] {
  const out: Finding[] = []
  const report = (names: Set<string>, file: string) => {
    for (const name of [...names].sort()) {
      if (!opts.declared.has(name)) {
        out.push({ rule: 'env.undeclared', file, path: `\${${name}}`, message: `\${${name}} is used but not declared in ${opts.envFile}` })
      }
    }
  }
  if (opts.config !== undefined) report(jsonEnvRefs(opts.config), opts.configFile)
  if (opts.composeText !== undefined) report(composeEnvRefs(opts.composeText), opts.composeFile)
  return out
}

/**
 * openclaw.endpoints: the avots base URL and the Telegram API root are each
 * a ${VAR} reference (per client, from the .env first boot writes, checked by
 * `clawbake user-data`) or a literal URL that passes the same endpoint rule:
 * https, or plain http only to a loopback, link-local or private IP address.
 */
export function endpoints(config: unknown, file: string): Finding[] {
  const c = obj(config)
  const places: [string, unknown][] = [
    ['/models/providers/avots/baseUrl', obj(obj(obj(c?.models)?.providers)?.avots)?.baseUrl],
    ['/channels/telegram/apiRoot', obj(obj(c?.channels)?.telegram)?.apiRoot],
  ]
  const out: Finding[] = []
  for (const [path, value] of places) {
    if (value === undefined || (typeof value === 'string' && /^\$\{[A-Z_][A-Z0-9_]*\}$/.test(value))) continue
    const why = typeof value === 'string' ? endpointProblem(value) : 'not a string'
    if (why) out.push({ rule: 'openclaw.endpoints', file, path, message: `${why} (or use a \${VAR} reference that \`clawbake user-data\` fills per client)` })
  }
  return out
}
