// openclaw.json settings upstream itself marks as dangerous, and Control UI
// origins that would let another site's page drive the gateway.
//  - openclaw.dangerous-flags: any `dangerously*` key turned on, anywhere in
//    the file; every flag the pinned version's own JSON Schema marks as
//    dangerous (a `dangerously*` property, or a boolean whose description
//    says DANGEROUS), so a new release's new flag is caught without a code
//    change; and the flags OpenClaw's security audit reports as
//    `config.insecure_or_dangerous_flags` under other names.
//  - openclaw.control-ui-origins: every Control UI allowed origin is a full
//    http(s) origin on loopback (the admin tunnel), never `*` or a remote site.
import type { Finding } from './finding.ts'

type Json = Record<string, unknown>
const obj = (v: unknown): Json | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined)

/** A flag the upstream schema marks as dangerous: a JSON pointer pattern (`*` = any key or item). */
export interface DangerousFlag {
  path: string
  /** `name`: a `dangerously*` property; `description`: its description says DANGEROUS */
  marked: 'name' | 'description'
}

export const DANGEROUS_NAME = /^dangerously/i
// upstream writes "DANGEROUS toggle ...", "DANGEROUS break-glass override ...", "Per-agent DANGEROUS override ..."
const DANGEROUS_DESCRIPTION = /\bDANGEROUS\b/

const escape = (k: string) => k.replace(/~/g, '~0').replace(/\//g, '~1')

/**
 * Walk an upstream JSON Schema (`openclaw config schema`) for the flags it
 * marks as dangerous. `properties` name a key, `additionalProperties`,
 * `patternProperties` and `items` stand for any key or item (`*`); every
 * other keyword (anyOf, allOf, $defs, ...) is walked at the same place.
 */
export function dangerousFlagsOf(schema: unknown): DangerousFlag[] {
  const found = new Map<string, DangerousFlag>()
  const seen = new Set<unknown>()
  const walk = (node: unknown, at: string): void => {
    if (!node || typeof node !== 'object' || seen.has(node)) return
    seen.add(node)
    if (Array.isArray(node)) { for (const n of node) walk(n, at); return }
    const n = node as Json
    for (const [key, value] of Object.entries(n)) {
      if (key === 'properties' && obj(value)) {
        for (const [name, sub] of Object.entries(value as Json)) {
          const path = `${at}/${escape(name)}`
          const description = obj(sub)?.description
          if (DANGEROUS_NAME.test(name)) found.set(path, { path, marked: 'name' })
          else if (typeof description === 'string' && DANGEROUS_DESCRIPTION.test(description) && !found.has(path)) found.set(path, { path, marked: 'description' })
          walk(sub, path)
        }
      } else if (key === 'patternProperties' && obj(value)) {
        for (const sub of Object.values(value as Json)) walk(sub, `${at}/*`)
      } else if (key === 'additionalProperties' || key === 'items' || key === 'additionalItems') {
        walk(value, `${at}/*`)
      } else if (key !== 'const' && key !== 'enum' && key !== 'default' && key !== 'examples') {
        walk(value, at)
      }
    }
  }
  walk(schema, '')
  return [...found.values()].sort((a, b) => a.path.localeCompare(b.path))
}

/** Flags OpenClaw's security audit reports as `config.insecure_or_dangerous_flags` though they are not named `dangerously*` (2026.9.6, src/security/*dangerous-config-flags*.ts). */
export const AUDIT_INSECURE_FLAGS: { path: string; on: (v: unknown) => boolean; shows: string }[] = [
  { path: '/hooks/gmail/allowUnsafeExternalContent', on: v => v === true, shows: 'true' },
  { path: '/hooks/mappings/*/allowUnsafeExternalContent', on: v => v === true, shows: 'true' },
  { path: '/hooks/allowRequestSessionKey', on: v => v === true, shows: 'true' },
  { path: '/tools/exec/applyPatch/workspaceOnly', on: v => v === false, shows: 'false' },
  { path: '/tools/fs/workspaceOnly', on: v => v === false, shows: 'false' },
  { path: '/security/audit/suppressions', on: v => Array.isArray(v) && v.length > 0, shows: 'configured' },
]

/** A `dangerously*` value that is on: anything but false/null/absent (and no empty string, list or object). */
function isOn(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return false
  if (Array.isArray(v)) return v.length > 0
  if (typeof v === 'object') return Object.keys(v as Json).length > 0
  return true
}

/** Every concrete place in `value` a pointer pattern (`*` = any key or item) reaches, with its value. */
function placesOf(value: unknown, pattern: string): [string, unknown][] {
  const parts = pattern.split('/').slice(1)
  let places: [string, unknown][] = [['', value]]
  for (const part of parts) {
    const next: [string, unknown][] = []
    for (const [at, v] of places) {
      if (part === '*') {
        if (Array.isArray(v)) v.forEach((x, i) => next.push([`${at}/${i}`, x]))
        else if (obj(v)) for (const [k, x] of Object.entries(v as Json)) next.push([`${at}/${escape(k)}`, x])
      } else {
        const key = part.replace(/~1/g, '/').replace(/~0/g, '~')
        const o = obj(v)
        if (o && Object.hasOwn(o, key)) next.push([`${at}/${part}`, o[key]])
      }
    }
    places = next
  }
  return places
}

/** openclaw.dangerous-flags findings; `upstream` is what the pinned version's schema marks (see dangerousFlagsOf). */
export function dangerousFlagFindings(config: unknown, file: string, upstream: readonly DangerousFlag[] = [], version?: string): Finding[] {
  const out = new Map<string, Finding>()
  const add = (path: string, message: string) => {
    if (!out.has(path)) out.set(path, { rule: 'openclaw.dangerous-flags', file, path, message })
  }
  // 1. any dangerously* key anywhere, known to the schema or not (plugin config, a newer release)
  const visit = (v: unknown, at: string) => {
    if (Array.isArray(v)) v.forEach((x, i) => visit(x, `${at}/${i}`))
    else if (obj(v)) {
      for (const [k, x] of Object.entries(v as Json)) {
        const path = `${at}/${escape(k)}`
        if (DANGEROUS_NAME.test(k) && isOn(x)) add(path, `${k} is turned on (${JSON.stringify(x)}): upstream marks it dangerous; the hardened image never sets a dangerously* flag`)
        visit(x, path)
      }
    }
  }
  visit(config, '')
  // 2. what the pinned version's own schema marks as dangerous under another name
  for (const flag of upstream) {
    for (const [path, v] of placesOf(config, flag.path)) {
      if (v === true) add(path, `OpenClaw${version ? ` ${version}` : ''}'s own schema marks this setting DANGEROUS and it is turned on (true)`)
    }
  }
  // 3. what its security audit reports as an insecure or dangerous flag
  for (const flag of AUDIT_INSECURE_FLAGS) {
    for (const [path, v] of placesOf(config, flag.path)) {
      if (flag.on(v)) add(path, `${flag.shows === 'configured' ? 'configured' : `set to ${flag.shows}`}: OpenClaw's security audit reports it as an insecure or dangerous flag (config.insecure_or_dangerous_flags)`)
    }
  }
  return [...out.values()]
}

const LOOPBACK_HOST = /^(?:localhost|127(?:\.(?:25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])){3}|\[::1\])$/i

/** Why `origin` may not be a Control UI allowed origin, or undefined when it is a loopback origin. */
export function originProblem(origin: unknown): string | undefined {
  if (typeof origin !== 'string') return 'not a string'
  if (origin.trim() === '*' || origin.includes('*')) return 'a wildcard lets any web page open a Control UI/WebChat connection'
  if (!/^https?:\/\/[^/?#@\s]+$/i.test(origin)) return 'not a full http(s) origin (scheme://host[:port], no path, query or credentials)'
  let url: URL
  try { url = new URL(origin) } catch { return 'not a valid origin' }
  if (!LOOPBACK_HOST.test(url.hostname)) return `${url.hostname} is not loopback: the Control UI is reached only through the admin tunnel to 127.0.0.1`
  return undefined
}

/** openclaw.control-ui-origins: gateway.controlUi.allowedOrigins holds loopback origins only. */
export function controlUiOrigins(config: unknown, file: string): Finding[] {
  const gateway = obj(obj(config)?.gateway)
  const origins = obj(gateway?.controlUi)?.allowedOrigins
  const fail = (path: string, message: string): Finding => ({ rule: 'openclaw.control-ui-origins', file, path, message })
  if (origins === undefined || (Array.isArray(origins) && origins.length === 0)) {
    // off loopback (the shipped "lan" inside the container) OpenClaw wants explicit origins, or it falls back to looser checks
    return gateway?.bind === undefined || gateway.bind === 'loopback' ? [] : [fail('/gateway/controlUi/allowedOrigins', `gateway.bind ${JSON.stringify(gateway.bind)} needs explicit loopback Control UI origins (gateway.controlUi.allowedOrigins)`)]
  }
  if (!Array.isArray(origins)) return [fail('/gateway/controlUi/allowedOrigins', 'allowedOrigins must be a list of loopback origins')]
  const out: Finding[] = []
  origins.forEach((o, i) => {
    const why = originProblem(o)
    if (why) out.push(fail(`/gateway/controlUi/allowedOrigins/${i}`, `${JSON.stringify(o)}: ${why} (allowed: http(s)://127.0.0.1, localhost or [::1], with a port)`))
  })
  return out
}
