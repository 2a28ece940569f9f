// The rules that keep the gateway and its Control UI closed, case by case,
// on the shipped openclaw.json changed in one place (the hostile fixtures in
// test/fixtures/policy/ prove one case each through the whole `clawbake
// check`): dangerous flags (derived from the pinned OpenClaw's own schema),
// Control UI origins, Tailscale, gateway auth, exposure, the skill allowlist.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { REPO } from '../support/tree.ts'
import { mergePatch } from './fixture.ts'
import { policyFindings, OPENCLAW_POLICY } from '../../src/policy/schema-rules.ts'
import { controlUiOrigins, dangerousFlagFindings, dangerousFlagsOf, originProblem } from '../../src/policy/dangerous.ts'
import { skillAllowlist } from '../../src/policy/skills.ts'
import { upstreamValidator } from '../../src/policy/upstream.ts'
import { readPinRecord } from '../../src/pins/record.ts'

const FILE = 'packer/files/openclaw.json'
const shipped = JSON.parse(readFileSync(join(REPO, FILE), 'utf8')) as Record<string, unknown>
const tag = readPinRecord(join(REPO, 'pins.lock.json')).tag
const patched = (patch: Record<string, unknown>) => mergePatch(shipped, patch)
/** every finding of the code and schema rules this file covers, as `rule path` */
const places = (config: unknown, flags = [] as Parameters<typeof dangerousFlagFindings>[2]) => [
  ...policyFindings(OPENCLAW_POLICY, config, FILE),
  ...dangerousFlagFindings(config, FILE, flags),
  ...controlUiOrigins(config, FILE),
  ...skillAllowlist(config, FILE),
].map(f => `${f.rule} ${f.path}`).sort()

t.test('the shipped config passes every one of these rules', async t => {
  const { dangerous } = await upstreamValidator(tag, process.env)
  t.same(places(shipped, dangerous), [])
  t.equal((shipped.gateway as { bind: string }).bind, 'lan', 'it binds lan inside its container (published on 127.0.0.1 only by compose)')
})

t.test('the pinned OpenClaw schema yields the dangerous flags, a new one is caught without a code change', async t => {
  const { dangerous } = await upstreamValidator(tag, process.env)
  const paths = dangerous.map(f => f.path)
  for (const p of ['/gateway/controlUi/dangerouslyDisableDeviceAuth', '/gateway/controlUi/dangerouslyAllowHostHeaderOriginFallback', '/browser/ssrfPolicy/dangerouslyAllowPrivateNetwork', '/agents/defaults/sandbox/docker/dangerouslyAllowExternalBindSources', '/channels/telegram/network/dangerouslyAllowPrivateNetwork']) {
    t.ok(paths.includes(p), `${tag} marks ${p}`)
  }
  t.ok(dangerous.some(f => f.path === '/gateway/controlUi/allowExternalEmbedUrls' && f.marked === 'description'), 'a flag marked DANGEROUS only in its description')
  t.ok(paths.every(p => !p.includes('allowedOrigins')), 'nothing else')
  // the schema-only flag is refused at its path
  t.same(places(patched({ gateway: { controlUi: { allowExternalEmbedUrls: true } } }), dangerous), ['openclaw.dangerous-flags /gateway/controlUi/allowExternalEmbedUrls'])
  t.same(places(patched({ gateway: { controlUi: { allowExternalEmbedUrls: false } } }), dangerous), [], 'turned off is fine')
  // a future release: a new flag under a wildcard, marked only by its description
  const future = { type: 'object', properties: { agents: { type: 'object', properties: { entries: { type: 'object', additionalProperties: { type: 'object', properties: { fastLane: { type: 'boolean', description: 'DANGEROUS toggle that skips the sandbox' } } } } } } } }
  const flags = dangerousFlagsOf(future)
  t.same(flags, [{ path: '/agents/entries/*/fastLane', marked: 'description' }])
  t.same(dangerousFlagFindings({ agents: { entries: { main: { fastLane: true } } } }, FILE, flags).map(f => f.path), ['/agents/entries/main/fastLane'])
  t.same(dangerousFlagsOf({ properties: { a: { anyOf: [{ properties: { dangerouslyB: { type: 'boolean' } } }] } } }), [{ path: '/a/dangerouslyB', marked: 'name' }], 'found through anyOf')
})

t.test('any dangerously* key that is on, anywhere, is refused at its path', async t => {
  t.same(places(patched({ gateway: { controlUi: { dangerouslyAllowHostHeaderOriginFallback: true } } })), ['openclaw.dangerous-flags /gateway/controlUi/dangerouslyAllowHostHeaderOriginFallback'])
  t.same(places(patched({ agents: { defaults: { sandbox: { docker: { dangerouslyAllowExternalBindSources: true } } } } })), ['openclaw.dangerous-flags /agents/defaults/sandbox/docker/dangerouslyAllowExternalBindSources'])
  t.same(places(patched({ plugins: { entries: { someplugin: { config: { dangerouslySkipChecks: 'yes' } } } } })), ['openclaw.dangerous-flags /plugins/entries/someplugin/config/dangerouslySkipChecks'], 'unknown to the schema: caught by name')
  t.same(places(patched({ gateway: { controlUi: { dangerouslyDisableDeviceAuth: false } } })), [], 'explicitly off is fine')
})

t.test('the flags the security audit reports as insecure are refused', async t => {
  t.same(places(patched({ tools: { fs: { workspaceOnly: false } } })), ['openclaw.dangerous-flags /tools/fs/workspaceOnly'])
  t.same(places(patched({ hooks: { mappings: [{ allowUnsafeExternalContent: true }] } })), ['openclaw.dangerous-flags /hooks/mappings/0/allowUnsafeExternalContent'])
  t.same(places(patched({ security: { audit: { suppressions: [{ checkId: 'gateway.bind_network_accessible' }] } } })), ['openclaw.dangerous-flags /security/audit/suppressions'])
})

t.test('Control UI origins: loopback only, no wildcard; required off loopback', async t => {
  for (const o of ['http://127.0.0.1:18789', 'http://localhost:18789', 'https://[::1]:18789', 'http://127.0.0.2:8080']) t.equal(originProblem(o), undefined, o)
  for (const o of ['*', 'https://*.example.com', 'https://control.example.com', 'http://10.0.0.5:18789', 'http://0.0.0.0:18789', 'null', 'http://127.0.0.1:18789/ui', 'http://user@127.0.0.1:18789', 'http://127.0.0.1.example.com', 'file:///tmp', '']) {
    t.type(originProblem(o), 'string', `${JSON.stringify(o)} refused`)
  }
  t.same(places(patched({ gateway: { controlUi: { allowedOrigins: ['https://control.example.com'] } } })), ['openclaw.control-ui-origins /gateway/controlUi/allowedOrigins/0'])
  t.same(places(patched({ gateway: { controlUi: { allowedOrigins: null } } })), ['openclaw.control-ui-origins /gateway/controlUi/allowedOrigins'], 'bind lan without explicit origins')
  t.same(places(patched({ gateway: { bind: 'loopback', controlUi: { allowedOrigins: null } } })), [], 'loopback bind: upstream checks the origin itself')
})

t.test('Tailscale serve/funnel and Tailscale identity are refused', async t => {
  t.same(places(patched({ gateway: { tailscale: { mode: 'funnel' } } })), ['openclaw.tailscale-off /gateway/tailscale/mode'])
  t.same(places(patched({ gateway: { tailscale: { mode: 'serve' } } })), ['openclaw.tailscale-off /gateway/tailscale/mode'])
  t.same(places(patched({ gateway: { tailscale: { mode: 'off' } } })), [])
  t.same(places(patched({ gateway: { auth: { allowTailscale: true } } })), ['openclaw.tailscale-off /gateway/auth/allowTailscale'])
})

t.test('gateway auth off or weakened is refused', async t => {
  const auth = (a: Record<string, unknown>) => places(patched({ gateway: { auth: a } }))
  t.same(auth({ token: 'literal-gateway-token-0123456789abcdef' }), ['openclaw.gateway-token-auth /gateway/auth/token'], 'a literal token, not a ${VAR} reference')
  t.same(auth({ token: '${OPENCLAW_GATEWAY_TOKEN}x' }), ['openclaw.gateway-token-auth /gateway/auth/token'])
  t.same(auth({ mode: 'password', password: '${GATEWAY_PASSWORD}' }), ['openclaw.gateway-token-auth /gateway/auth/mode', 'openclaw.gateway-token-auth /gateway/auth/password'])
  t.same(auth({ mode: 'trusted-proxy', trustedProxy: { userHeader: 'x-user' } }), ['openclaw.gateway-token-auth /gateway/auth/mode', 'openclaw.gateway-token-auth /gateway/auth/trustedProxy'])
  t.same(auth({ rateLimit: null }), ['openclaw.gateway-token-auth /gateway/auth'], 'no rate limit')
  t.same(places(patched({ gateway: { controlUi: { allowInsecureAuth: true } } })), ['openclaw.gateway-token-auth /gateway/controlUi/allowInsecureAuth'])
})

t.test('what widens who reaches the gateway is refused', async t => {
  t.same(places(patched({ gateway: { allowRealIpFallback: true } })), ['openclaw.gateway-exposure /gateway/allowRealIpFallback'])
  t.same(places(patched({ gateway: { customBindHost: '0.0.0.0' } })), ['openclaw.gateway-exposure /gateway/customBindHost'])
  t.same(places(patched({ gateway: { nodes: { pairing: { autoApproveCidrs: ['192.168.0.0/16'] } } } })), ['openclaw.gateway-exposure /gateway/nodes/pairing/autoApproveCidrs'])
  t.same(places(patched({ gateway: { bind: 'tailnet' } })), ['openclaw.gateway-loopback /gateway/bind'])
})

t.test('skills: only allowed ones, by every way of enabling one', async t => {
  t.same(places(patched({ agents: { defaults: { skills: null } } })), ['openclaw.skills-allowlist /agents/defaults/skills'], 'no allowlist = every skill')
  t.same(places(patched({ skills: { entries: { trello: { enabled: true } } } })), ['openclaw.skills-allowlist /skills/entries/trello/enabled'])
  t.same(places(patched({ skills: { entries: { trello: { apiKey: '${TRELLO_API_KEY}' } } } })), ['openclaw.skills-allowlist /skills/entries/trello'], 'configured (enabled by default)')
  t.same(places(patched({ skills: { entries: { trello: { enabled: false } } } })), [], 'turning one off is fine')
  t.same(places(patched({ skills: { allowBundled: ['clawhub'] } })), ['openclaw.skills-allowlist /skills/allowBundled/0'])
  t.same(places(patched({ agents: { entries: { main: { skills: ['1password'] } } } })), ['openclaw.skills-allowlist /agents/entries/main/skills/0'])
  const withTmux = mergePatch(shipped, { agents: { defaults: { skills: ['tmux'] } } })
  t.same(skillAllowlist(withTmux, FILE, ['tmux']), [], 'a skill on the allowed list passes')
  t.same(skillAllowlist(withTmux, FILE, []).map(f => f.path), ['/agents/defaults/skills/0'])
})
