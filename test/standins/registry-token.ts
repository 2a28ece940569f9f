// A small Docker/OCI token server (the `auth.token` realm of distribution 2.8)
// for tests: RS256 JWTs signed with a key generated at run time by openssl,
// the self-signed certificate in the `x5c` header and in the registry's
// `rootcertbundle`. Anonymous callers get `pull` only; callers with valid
// Basic credentials get what they ask for. Shaped like ghcr.io's /token:
// `{token, access_token, expires_in, issued_at}`.
import { createPrivateKey, randomUUID, sign, X509Certificate } from 'node:crypto'
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

export interface TokenRequestLog {
  /** `Basic` user name, or null for an anonymous request */
  user: string | null
  service: string | null
  scopes: string[]
  status: number
}

export interface TokenServer {
  realm: string
  service: string
  issuer: string
  certFile: string
  /** every request served, in order */
  log: TokenRequestLog[]
  /** lifetime of the tokens it issues, seconds (change it between requests) */
  expiresIn: number
  /** reply with `access_token` only (as some realms do) instead of both names */
  accessTokenOnly: boolean
  stop(): Promise<void>
}

function b64url(b: Buffer | string): string {
  return Buffer.from(b).toString('base64url')
}

export async function startTokenServer(opts: { dir: string; service: string; issuer: string; users: Record<string, string> }): Promise<TokenServer> {
  const keyFile = join(opts.dir, 'token-key.pem')
  const certFile = join(opts.dir, 'token-cert.pem')
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=clawbake-test-token-issuer'], { timeout: 30000 })
  const key = createPrivateKey(readFileSync(keyFile))
  const certDer = new X509Certificate(readFileSync(certFile)).raw
  const state: TokenServer = {
    realm: '',
    service: opts.service,
    issuer: opts.issuer,
    certFile,
    log: [],
    expiresIn: 300,
    accessTokenOnly: false,
    stop: async () => {},
  }

  const jwt = (sub: string, access: { type: string; name: string; actions: string[] }[]): string => {
    const now = Math.floor(Date.now() / 1000)
    const header = { typ: 'JWT', alg: 'RS256', x5c: [certDer.toString('base64')] }
    const claims = { iss: opts.issuer, sub, aud: opts.service, exp: now + state.expiresIn, nbf: now - 10, iat: now, jti: randomUUID(), access }
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`
    return `${input}.${b64url(sign('sha256', Buffer.from(input), key))}`
  }

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x')
    const entry: TokenRequestLog = { user: null, service: url.searchParams.get('service'), scopes: url.searchParams.getAll('scope'), status: 200 }
    state.log.push(entry)
    const reply = (status: number, body: unknown) => {
      entry.status = status
      res.writeHead(status, { 'content-type': 'application/json' })
      res.end(JSON.stringify(body))
    }
    if (url.pathname !== '/token' || req.method !== 'GET') return reply(404, { errors: [{ code: 'NOT_FOUND', message: 'not found' }] })
    if (entry.service !== opts.service) return reply(400, { errors: [{ code: 'DENIED', message: `unknown service ${entry.service}` }] })
    let granted = ['pull']
    const auth = req.headers.authorization
    if (auth) {
      const m = /^Basic (.+)$/i.exec(auth)
      const [user, ...rest] = m ? Buffer.from(m[1]!, 'base64').toString('utf8').split(':') : []
      const password = rest.join(':')
      if (!user || opts.users[user] === undefined || opts.users[user] !== password) {
        return reply(401, { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] })
      }
      entry.user = user
      granted = ['pull', 'push', 'delete', '*']
    }
    const access = entry.scopes.flatMap(scope => {
      const [type, ...more] = scope.split(':')
      const actions = (more.pop() ?? '').split(',').filter(a => granted.includes(a))
      const name = more.join(':')
      return type && name && actions.length ? [{ type, name, actions }] : []
    })
    const token = jwt(entry.user ?? '', access)
    const issuedAt = new Date().toISOString()
    reply(200, state.accessTokenOnly
      ? { access_token: token, expires_in: state.expiresIn, issued_at: issuedAt }
      : { token, access_token: token, expires_in: state.expiresIn, issued_at: issuedAt })
  }

  const server = createServer(handle)
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  state.realm = `http://127.0.0.1:${port}/token`
  state.stop = () => new Promise<void>(resolve => {
    server.closeAllConnections()
    server.close(() => resolve())
  })
  return state
}
