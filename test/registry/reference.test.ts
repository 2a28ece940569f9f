// The small pure parts of the registry client: image references and which
// scheme they get, WWW-Authenticate challenges, token replies and expiry,
// Retry-After, the Accept header.
import t from 'tap'
import { isLoopbackHost, parseImageRef } from '../../src/registry/reference.ts'
import { parseChallenge, parseTokenReply, TokenCache, credentialsFromEnv } from '../../src/registry/auth.ts'
import { retryAfterMs, redact } from '../../src/registry/session.ts'
import { ACCEPT_MANIFESTS } from '../../src/registry/media.ts'
import { ClawbakeError } from '../../src/errors.ts'

/** `rule:field:exit` of the ClawbakeError `fn` throws, or what else happened. */
function refusal(fn: () => unknown): string {
  try {
    fn()
    return 'no error'
  } catch (e) {
    return e instanceof ClawbakeError ? `${e.rule}:${e.field ?? ''}:${e.exitCode}` : String(e)
  }
}

t.test('loopback hosts get http, every other host https', async t => {
  t.equal(parseImageRef('ghcr.io/openclaw/openclaw').origin, 'https://ghcr.io')
  t.equal(parseImageRef('127.0.0.1:5000/openclaw/openclaw').origin, 'http://127.0.0.1:5000')
  t.equal(parseImageRef('127.8.9.10:5000/openclaw/openclaw').origin, 'http://127.8.9.10:5000')
  t.equal(parseImageRef('localhost:5000/openclaw/openclaw').origin, 'http://localhost:5000')
  t.equal(parseImageRef('[::1]:5000/openclaw/openclaw').origin, 'http://[::1]:5000')
  t.equal(parseImageRef('10.0.0.1:5000/openclaw/openclaw').origin, 'https://10.0.0.1:5000')
  t.equal(parseImageRef('127.0.0.1.nip.io/openclaw/openclaw').origin, 'https://127.0.0.1.nip.io', 'a name that starts like 127.* is not loopback')
  t.equal(parseImageRef('localhost.example.com/openclaw/openclaw').origin, 'https://localhost.example.com')
  t.notOk(isLoopbackHost('128.0.0.1'))
  t.same(parseImageRef('GHCR.io/openclaw/openclaw'), { image: 'ghcr.io/openclaw/openclaw', host: 'ghcr.io', repository: 'openclaw/openclaw', origin: 'https://ghcr.io' })
})

t.test('image references with a tag, a digest, no host or bad paths are refused', async t => {
  for (const bad of ['openclaw/openclaw', 'ghcr.io/openclaw/openclaw:2026.9.6', 'ghcr.io/openclaw/openclaw@sha256:' + 'a'.repeat(64), 'ghcr.io', 'ghcr.io/OpenClaw/openclaw', 'ghcr.io//x', 'ghcr.io/a/-b']) {
    t.equal(refusal(() => parseImageRef(bad)), 'registry.image-ref:--image:2', bad)
  }
  t.equal(parseImageRef('127.0.0.1:5000/openclaw/openclaw').repository, 'openclaw/openclaw', 'a port is not a tag')
})

t.test('WWW-Authenticate challenges', async t => {
  t.same(parseChallenge('Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:openclaw/openclaw:pull"'), {
    scheme: 'bearer', params: { realm: 'https://ghcr.io/token', service: 'ghcr.io', scope: 'repository:openclaw/openclaw:pull' },
  })
  t.same(parseChallenge('Basic realm="Registry Realm"'), { scheme: 'basic', params: { realm: 'Registry Realm' } })
  t.same(parseChallenge('bearer realm=https://x/token, service=x'), { scheme: 'bearer', params: { realm: 'https://x/token', service: 'x' } })
  t.equal(parseChallenge('Negotiate abc'), null)
  t.equal(parseChallenge(undefined), null)
})

t.test('token replies: token or access_token; expiry by our clock; reuse until expiry minus a margin', async t => {
  t.same(parseTokenReply({ token: 'a', expires_in: 300, issued_at: '1999-01-01T00:00:00Z' }, 1000, 'r'), { token: 'a', expiresAt: 301000 }, 'issued_at in the far past does not expire it')
  t.same(parseTokenReply({ access_token: 'b' }, 0, 'r'), { token: 'b', expiresAt: 60000 }, 'default 60 s')
  t.equal(refusal(() => parseTokenReply({ token: '' }, 0, 'r')), 'registry.token-malformed::2')
  const cache = new TokenCache(5000)
  cache.set('k', 'Bearer x', 60000)
  t.equal(cache.get('k', 54999), 'Bearer x')
  t.equal(cache.get('k', 55000), null, 'renewed 5 s before it expires')
  t.equal(cache.get('k', 0), null, 'and forgotten')
})

t.test('credentials come in pairs', async t => {
  t.equal(credentialsFromEnv({}), null)
  t.same(credentialsFromEnv({ CLAWBAKE_REGISTRY_USER: 'u', CLAWBAKE_REGISTRY_PASSWORD: 'p' }), { user: 'u', password: 'p', host: null })
  t.same(credentialsFromEnv({ CLAWBAKE_REGISTRY_USER: 'u', CLAWBAKE_REGISTRY_PASSWORD: 'p', CLAWBAKE_REGISTRY_HOST: 'GHCR.IO' }), { user: 'u', password: 'p', host: 'ghcr.io' })
  t.equal(refusal(() => credentialsFromEnv({ CLAWBAKE_REGISTRY_PASSWORD: 'p' })), 'registry.credentials-incomplete:CLAWBAKE_REGISTRY_USER:2')
})

t.test('Retry-After in seconds or as an HTTP date', async t => {
  t.equal(retryAfterMs('3', 0), 3000)
  t.equal(retryAfterMs(new Date(10_000).toUTCString(), 4000), 6000)
  t.equal(retryAfterMs('soon', 0), null)
  t.equal(retryAfterMs(undefined, 0), null)
})

t.test('Accept names all four manifest types; URLs in errors carry no query or userinfo', async t => {
  t.same(ACCEPT_MANIFESTS.split(', ').sort(), [
    'application/vnd.docker.distribution.manifest.list.v2+json',
    'application/vnd.docker.distribution.manifest.v2+json',
    'application/vnd.oci.image.index.v1+json',
    'application/vnd.oci.image.manifest.v1+json',
  ])
  t.equal(redact('https://u:p@auth.example/token?scope=x&secret=y'), 'https://auth.example/token')
})
