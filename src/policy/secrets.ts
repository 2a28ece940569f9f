// secret.plaintext: no credential may sit in a shipped artifact. Two nets:
// recognisable credential shapes anywhere in any text, and any literal value
// (not a ${VAR} reference, not empty) under a secret-named key in JSON/YAML
// or a secret-named KEY=value line. Messages never repeat the secret.
import type { Finding } from './finding.ts'

const SHAPES: { kind: string; re: RegExp }[] = [
  { kind: 'private key', re: /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----/ },
  { kind: 'Telegram bot token', re: /\b[0-9]{5,12}:AA[A-Za-z0-9_-]{30,}/ },
  { kind: 'GitHub token', re: /\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b/ },
  { kind: 'avots API key', re: /\b(?:sk-)?avots[-_](?:live|test|key|sk)?[-_]?[A-Za-z0-9]{20,}\b/i },
  { kind: 'OpenAI-style API key', re: /\bsk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,}\b/ },
]

/** Names that hold credentials: ...token, ...secret, password, apiKey, private key, credential(s). */
export const SECRET_NAME = /(?:^|[_.-]|[a-z])(?:token|secret|passw(?:or)?d|api[_-]?key|apikey|private[_-]?key|credentials?|auth[_-]?key)s?$/i
const NOT_SECRET_NAME = /(?:max|min)[_-]?tokens$|tokens?[_-]?(?:file|path|limit|count)$/i

function isSecretName(name: string): boolean {
  return (SECRET_NAME.test(name) || /^(?:token|secret|password|apikey|api_key)$/i.test(name)) && !NOT_SECRET_NAME.test(name)
}

/** A value that is no secret: empty, a ${VAR} reference (or several), or an obvious placeholder. */
function isReference(value: string): boolean {
  const v = value.trim().replace(/^(['"])(.*)\1$/, '$2')
  return v === '' || /^(\$\{[A-Za-z_][A-Za-z0-9_]*(?:[:?+-][^}]*)?\}|\$[A-Za-z_][A-Za-z0-9_]*)+$/.test(v) || /^<[^>]*>$/.test(v)
}

/** Credential shapes anywhere in a text file, reported by line. */
export function textSecrets(text: string, file: string): Finding[] {
  const out: Finding[] = []
  text.split('\n').forEach((line, i) => {
    for (const s of SHAPES) {
      if (s.re.test(line)) out.push({ rule: 'secret.plaintext', file, path: `line ${i + 1}`, message: `plaintext ${s.kind} in a shipped file: use a \${VAR} reference and the 0600 .env first boot writes` })
    }
    const kv = /^\s*(?:export\s+|-\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*[=:]\s*(.*)$/.exec(line)
    if (kv && isSecretName(kv[1]!) && !isReference(kv[2]!.replace(/\s+#.*$/, '')) && !/^[|>]-?$/.test(kv[2]!.trim()) && !/^\$\(/.test(kv[2]!.trim())) {
      out.push({ rule: 'secret.plaintext', file, path: `line ${i + 1}`, message: `${kv[1]} has a literal value: secrets come from the per-client .env, never from a shipped file` })
    }
  })
  return out
}

/** Literal values under secret-named keys of parsed JSON/YAML, reported by JSON pointer. */
export function structuredSecrets(value: unknown, file: string, pointer = ''): Finding[] {
  const out: Finding[] = []
  const visit = (v: unknown, at: string, name: string | undefined) => {
    if (typeof v === 'string') {
      if (name !== undefined && isSecretName(name) && !isReference(v)) {
        out.push({ rule: 'secret.plaintext', file, path: at || '/', message: `${name} has a literal value: use a \${VAR} reference resolved from the per-client .env` })
      }
      const env = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(v) // compose `environment: [KEY=value]`
      if (env && isSecretName(env[1]!) && !isReference(env[2]!)) {
        out.push({ rule: 'secret.plaintext', file, path: at || '/', message: `${env[1]} has a literal value: use a \${VAR} reference resolved from the per-client .env` })
      }
    } else if (Array.isArray(v)) {
      v.forEach((x, i) => visit(x, `${at}/${i}`, name))
    } else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) visit(x, `${at}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`, k)
    }
  }
  visit(value, pointer, undefined)
  return out
}
