// Registry authentication: the `WWW-Authenticate` challenge, the anonymous (or
// credentialed) bearer-token flow of the Docker/OCI token spec, basic auth
// from the environment, and the token cache (a token is reused until it
// expires).
import { ClawbakeError } from '../errors.ts'

export interface Challenge {
  scheme: 'bearer' | 'basic'
  params: Record<string, string>
}

/** Parse `Bearer realm="...",service="...",scope="..."` / `Basic realm="..."`. */
export function parseChallenge(header: string | undefined): Challenge | null {
  if (!header) return null
  const m = /^\s*(\w+)\s*(.*)$/s.exec(header)
  if (!m) return null
  const scheme = m[1]!.toLowerCase()
  if (scheme !== 'bearer' && scheme !== 'basic') return null
  const params: Record<string, string> = {}
  const re = /([A-Za-z_][\w-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*,?\s*/g
  for (let p = re.exec(m[2]!); p; p = re.exec(m[2]!)) {
    params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : (p[3] ?? '')
  }
  return { scheme, params }
}

/** Registry credentials from the environment. */
export interface Credentials {
  user: string
  password: string
  /** when set, the credentials are used for this registry host only */
  host: string | null
}

export const ENV_USER = 'CLAWBAKE_REGISTRY_USER'
export const ENV_PASSWORD = 'CLAWBAKE_REGISTRY_PASSWORD'
export const ENV_HOST = 'CLAWBAKE_REGISTRY_HOST'

export function credentialsFromEnv(env: Record<string, string | undefined>): Credentials | null {
  const user = env[ENV_USER]
  const password = env[ENV_PASSWORD]
  if (!user && !password) return null
  if (!user || !password) {
    throw new ClawbakeError(`set both ${ENV_USER} and ${ENV_PASSWORD}, or neither`, { field: user ? ENV_PASSWORD : ENV_USER, rule: 'registry.credentials-incomplete' }, 2)
  }
  return { user, password, host: env[ENV_HOST]?.toLowerCase() || null }
}

export function basicAuthorization(c: Credentials): string {
  return 'Basic ' + Buffer.from(`${c.user}:${c.password}`).toString('base64')
}

/** What the token endpoint answered: `token` or `access_token`, optional lifetime. */
export function parseTokenReply(body: unknown, nowMs: number, realm: string): { token: string; expiresAt: number } {
  const b = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>
  const token = typeof b.token === 'string' && b.token ? b.token : typeof b.access_token === 'string' && b.access_token ? b.access_token : null
  if (!token) throw new ClawbakeError('token endpoint answered without a `token` or `access_token`', { file: realm, rule: 'registry.token-malformed' }, 2)
  // The token spec: expires_in defaults to 60 s. It is counted from when the
  // reply arrived by our clock, not from issued_at, so clock skew between us
  // and the realm cannot make every token look expired (or immortal).
  const expiresIn = typeof b.expires_in === 'number' && b.expires_in > 0 ? b.expires_in : 60
  return { token, expiresAt: nowMs + expiresIn * 1000 }
}

/** Tokens (and "this host wants basic auth") per registry origin, repository and identity. */
export class TokenCache {
  #entries = new Map<string, { authorization: string; expiresAt: number }>()
  /** renew this long before the stated expiry, so a token never dies in flight */
  readonly marginMs: number

  constructor(marginMs = 5000) {
    this.marginMs = marginMs
  }

  static key(origin: string, repository: string, user: string | null): string {
    return `${origin} ${repository} ${user ?? ''}`
  }

  get(key: string, nowMs: number): string | null {
    const e = this.#entries.get(key)
    if (!e) return null
    if (nowMs >= e.expiresAt - this.marginMs) {
      this.#entries.delete(key)
      return null
    }
    return e.authorization
  }

  set(key: string, authorization: string, expiresAt: number): void {
    this.#entries.set(key, { authorization, expiresAt })
  }

  delete(key: string): void {
    this.#entries.delete(key)
  }
}
