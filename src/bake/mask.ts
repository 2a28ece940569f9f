// Secret masking for everything the bake prints or logs. Packer 1.6.6 prints
// `sensitive = true` variables in clear in -machine-readable output (and
// shell-local echoes whatever a script prints), so clawbake masks every
// secret value itself, in every form it could take on the way out: as is,
// JSON-escaped, URL-encoded, and as Packer's machine-readable escaping
// (`,` -> `%!(PACKER_COMMA)`, newline -> `\n`).

export const MASK = '<redacted>'

/** Environment variables whose values are secrets, whatever their content. */
export const SECRET_ENV = ['AVOTS_API_KEY', 'GITHUB_TOKEN', 'GH_TOKEN', 'TELEGRAM_BOT_TOKEN', 'OPENCLAW_GATEWAY_TOKEN', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'REGISTRY_PASSWORD'] as const

/** Names that look like secrets: *_TOKEN, *_KEY (not *_KEY_ID), *_SECRET*, *PASSWORD*. */
export function isSecretName(name: string): boolean {
  const n = name.toUpperCase()
  if ((SECRET_ENV as readonly string[]).includes(n)) return true
  if (n.startsWith('PKR_VAR_')) return isSecretName(n.slice('PKR_VAR_'.length)) || /(^|_)(TOKEN|KEY|SECRET|PASSWORD)$/.test(n)
  return /(_TOKEN|_API_KEY|_SECRET|_SECRET_ACCESS_KEY|PASSWORD|_PASS)$/.test(n)
}

export interface Masker {
  /** add a secret value (values shorter than 4 characters are refused: they would mask ordinary text) */
  add(value: string | undefined): void
  mask(text: string): string
  /** the secret values, for tests that grep captured output */
  readonly values: readonly string[]
}

function forms(value: string): string[] {
  const out = new Set<string>([value])
  out.add(JSON.stringify(value).slice(1, -1))
  out.add(encodeURIComponent(value))
  out.add(value.replaceAll(',', '%!(PACKER_COMMA)').replaceAll('\n', '\\n').replaceAll('\r', '\\r'))
  return [...out].filter(f => f.length > 0)
}

export function createMasker(values: Iterable<string | undefined> = []): Masker {
  const secrets: string[] = []
  let patterns: string[] = []
  const m: Masker = {
    add(value) {
      if (value === undefined) return
      if (value.length < 4) {
        if (value.length > 0) throw new Error('refusing to register a secret shorter than 4 characters (it would mask ordinary output)')
        return
      }
      if (secrets.includes(value)) return
      secrets.push(value)
      // longest first, so a secret containing another secret is masked whole
      patterns = [...new Set(secrets.flatMap(forms))].sort((a, b) => b.length - a.length)
    },
    mask(text) {
      let out = text
      for (const p of patterns) if (out.includes(p)) out = out.split(p).join(MASK)
      return out
    },
    get values() {
      return secrets
    },
  }
  for (const v of values) m.add(v)
  return m
}

/** A masker holding every secret-looking value of `env`. */
export function maskerFromEnv(env: Record<string, string | undefined>): Masker {
  const m = createMasker()
  for (const [k, v] of Object.entries(env)) if (v && isSecretName(k) && v.length >= 4) m.add(v)
  return m
}
