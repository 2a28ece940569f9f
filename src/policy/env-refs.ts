// `${VAR}` references: which variables openclaw.json and docker-compose.yml
// use, and OpenClaw's own substitution (values only, never object keys;
// `$${VAR}` is an escaped literal) for validating a config as OpenClaw sees it.

const REF = /\$(\$)?\{([A-Z_][A-Z0-9_]*)\}/g
const COMPOSE_REF = /\$(\$)?\{([A-Za-z_][A-Za-z0-9_]*)(?:[:?+-][^}]*)?\}|\$(\$)?([A-Za-z_][A-Za-z0-9_]*)/g

/** Variable names referenced by the strings of a JSON value (keys included: a ref in a key is still a ref). */
export function jsonEnvRefs(value: unknown, out = new Set<string>()): Set<string> {
  if (typeof value === 'string') {
    for (const m of value.matchAll(REF)) if (!m[1]) out.add(m[2]!)
  } else if (Array.isArray(value)) {
    for (const v of value) jsonEnvRefs(v, out)
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      jsonEnvRefs(k, out)
      jsonEnvRefs(v, out)
    }
  }
  return out
}

/** Variable names compose would interpolate (comment lines skipped, `$$` escapes honoured). */
export function composeEnvRefs(text: string): Set<string> {
  const out = new Set<string>()
  for (const line of text.split('\n')) {
    if (/^\s*#/.test(line)) continue
    for (const m of line.matchAll(COMPOSE_REF)) {
      if (m[1] || m[3]) continue
      out.add((m[2] ?? m[4])!)
    }
  }
  return out
}

/** Keys of a dotenv file (KEY=value lines). */
export function dotenvKeys(text: string): Map<string, string> {
  const out = new Map<string, string>()
  for (const line of text.split('\n')) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line)
    if (m) out.set(m[1]!, m[2]!.trim())
  }
  return out
}

/** A harmless stand-in value of the right shape for a variable (for validation runs, never a real secret). */
export function dummyValue(name: string): string {
  if (/_ID$/.test(name)) return '100000001'
  if (/(URL|ROOT)$/.test(name)) return 'http://127.0.0.1:9/v1'
  if (name === 'TELEGRAM_BOT_TOKEN') return `100000001:${'x'.repeat(35)}`
  return `clawbake-dummy-${name.toLowerCase().replace(/_/g, '-')}`
}

/** OpenClaw's substitution: `${VAR}` in string VALUES from env (keys untouched). */
export function resolveEnvRefs(value: unknown, env: (name: string) => string): unknown {
  if (typeof value === 'string') return value.replace(REF, (all, esc: string | undefined, name: string) => (esc ? all.slice(1) : env(name)))
  if (Array.isArray(value)) return value.map(v => resolveEnvRefs(v, env))
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveEnvRefs(v, env)]))
  }
  return value
}
