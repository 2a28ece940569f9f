// The allowlist entries: what `clawbake user-data --allow-egress` and
// `clawbake check` accept and refuse, the same verdicts as first boot's
// packer/files/egress.sh (run here on every case), names that do not resolve
// (a stand-in resolver), and the explicit, recorded off switch.
import t from 'tap'
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse } from 'yaml'
import { REPO, tempTree } from '../support/tree.ts'
import { clawbake } from '../support/cli.ts'
import { run } from '../../src/proc/run.ts'
import { ClawbakeError } from '../../src/errors.ts'
import { allowEgressEntries, clientEnvEgressFindings, parseEgressEntry, urlEgressEntry, type Resolver } from '../../src/provision/egress.ts'

const EGRESS_SH = join(REPO, 'packer', 'files', 'egress.sh')

// entry -> normalized host:port, or the rule that refuses it
const CASES: [string, string][] = [
  ['api.telegram.org', 'api.telegram.org:443'],
  ['API.Avots.AI:8443', 'api.avots.ai:8443'],
  ['10.0.2.100:8080', '10.0.2.100:8080'],
  ['203.0.113.77/24', '203.0.113.0/24:443'],
  ['198.51.100.9/30:22', '198.51.100.8/30:22'],
  ['172.31.240.1:3456', '172.31.240.1:3456'],
  ['*.example.com', 'egress.wildcard'],
  ['api.*.com', 'egress.wildcard'],
  ['10.0.0.0/16', 'egress.range'],
  ['0.0.0.0/0:443', 'egress.range'],
  ['169.254.169.254:80', 'egress.link-local'],
  ['172.31.240.2:18789', 'egress.malformed'],
  ['localhost', 'egress.malformed'],
  ['bad_name.example.com', 'egress.malformed'],
  ['example.com:0', 'egress.malformed'],
  ['example.com:65536', 'egress.malformed'],
  ['https://example.com/', 'egress.malformed'],
  ['[2001:db8::1]:443', 'egress.malformed'],
  ['300.1.1.1', 'egress.malformed'],
  ['224.0.0.1', 'egress.malformed'],
]

t.test('entries: normalized or refused by rule, and egress.sh (first boot) agrees on every one', async t => {
  for (const [text, want] of CASES) {
    const { entry, problems } = parseEgressEntry(text)
    if (want.startsWith('egress.')) t.equal(problems[0]?.rule, want, `${text}: ${want}`)
    else t.same([problems, entry && `${entry.host}:${entry.port}`], [[], want], `${text} -> ${want}`)
    const sh = await run('bash', [EGRESS_SH, 'check', text], { timeoutMs: 10_000 })
    if (want.startsWith('egress.')) {
      t.equal(sh.code, 1, `egress.sh refuses ${text}`)
      t.match(sh.stderr, /^egress: EGRESS_ALLOW: /, 'naming the field')
    } else {
      t.equal(sh.stdout, `${want}\n`, `egress.sh: ${text} -> ${want}`)
    }
  }
  const off = await run('bash', [EGRESS_SH, 'check', 'off', 'api.telegram.org'], { timeoutMs: 10_000 })
  t.equal(off.code, 1, 'off cannot be combined with entries')
})

t.test('EGRESS_SET_TIMEOUT (the lifetime of the resolver\'s addresses): whole seconds, 2-86400; anything else is refused before anything is rendered', async t => {
  const etc = mkdtempSync(join(tmpdir(), 'clawbake-egress-timeout-'))
  t.teardown(() => rmSync(etc, { recursive: true, force: true }))
  for (const bad of ['0', '1', '86401', '1h', '-5', '03', ' 60', '']) {
    for (const cmd of ['render', 'dns']) {
      const r = await run('bash', [EGRESS_SH, cmd, 'api.telegram.org'], { timeoutMs: 10_000, env: { PATH: process.env.PATH, EGRESS_ETC: etc, EGRESS_SET_TIMEOUT: bad } })
      t.equal(r.code, 1, `${cmd}: EGRESS_SET_TIMEOUT=${JSON.stringify(bad)} refused`)
      t.match(r.stderr, /^egress: EGRESS_SET_TIMEOUT=.*: give whole seconds, 2-86400$/m, 'naming the variable')
    }
  }
  t.same(readdirSync(etc), [], 'nothing rendered')
})

t.test('the defaults from URLs, as first boot derives them; plain http only to a private address', async t => {
  for (const [url, want] of [
    ['https://api.avots.ai/openai/v1', 'api.avots.ai:443'],
    ['https://api.telegram.org', 'api.telegram.org:443'],
    ['http://172.31.240.1:39012/bot', '172.31.240.1:39012'],
    ['http://10.0.2.100:8080', '10.0.2.100:8080'],
  ] as const) {
    const { entry, problems } = urlEgressEntry(url)
    t.same([problems, entry && `${entry.host}:${entry.port}`], [[], want], url)
    t.equal((await run('bash', [EGRESS_SH, 'entries-from-url', url], { timeoutMs: 10_000 })).stdout, `${want}\n`, `egress.sh: ${url}`)
  }
  t.equal(urlEgressEntry('http://api.avots.ai/openai/v1').problems[0]?.rule, 'egress.plain-http')
  t.equal(parseEgressEntry('downloads.example.com:80').problems[0]?.rule, 'egress.plain-http')
  t.same(parseEgressEntry('192.168.1.10:80').problems, [])
  t.equal(urlEgressEntry('https://user:pw@api.avots.ai/').problems[0]?.rule, 'egress.malformed')
})

t.test('--allow-egress: names must resolve (stand-in resolver); errors name the field and rule', async t => {
  const asked: string[] = []
  const resolver: Resolver = async host => {
    asked.push(host)
    if (host === 'api.example.com') return ['203.0.113.5']
    if (host === 'v6only.example.com') return ['2001:db8::5']
    throw Object.assign(new Error('ENOTFOUND'), { code: 'ENOTFOUND' })
  }
  t.same(await allowEgressEntries(['api.example.com', '10.0.2.100:8080,api.example.com'], resolver), ['10.0.2.100:8080', 'api.example.com:443'])
  t.same(asked, ['api.example.com', 'api.example.com'], 'IP literals are not looked up')
  for (const [value, rule] of [['typo.example.com', 'egress.unresolvable'], ['v6only.example.com', 'egress.unresolvable'], ['*.example.com', 'egress.wildcard'], ['10.1.0.0/20', 'egress.range']] as const) {
    const e = await allowEgressEntries([value], resolver).then(() => undefined, (err: unknown) => err)
    t.ok(e instanceof ClawbakeError, value)
    t.match(e, { rule, field: '--allow-egress', exitCode: 2 }, `${value}: ${rule}`)
  }
})

t.test('client.env findings: every bad entry, the defaults, and off reported', async t => {
  const f = clientEnvEgressFindings('OWNER_TELEGRAM_ID=1\nEGRESS_ALLOW=ok.example.com,*.x.com,10.0.0.0/8\nTELEGRAM_API_ROOT=http://api.telegram.org\n', 'ud.yaml', '/write_files/0/content')
  t.same(f.map(x => [x.rule, x.path]), [
    ['egress.wildcard', '/write_files/0/content line 2'],
    ['egress.range', '/write_files/0/content line 2'],
    ['egress.plain-http', '/write_files/0/content line 3'],
  ])
  t.same(clientEnvEgressFindings('EGRESS_ALLOW=off\n', 'ud.yaml', '/').map(x => x.rule), ['egress.disabled'])
  t.same(clientEnvEgressFindings('EGRESS_ALLOW=\n', 'ud.yaml', '/'), [])
})

t.test('clawbake user-data: --allow-egress recorded in client.env; --no-egress-allowlist recorded as off, warned about, reported by check', async t => {
  const root = tempTree(t)
  const dir = mkdtempSync(join(tmpdir(), 'clawbake-egress-ud-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const env = {
    CLAWBAKE_ROOT: root,
    AVOTS_API_KEY: `avots-test-${randomBytes(16).toString('hex')}`,
    TELEGRAM_BOT_TOKEN: `987654321:AA${randomBytes(24).toString('base64url').slice(0, 33)}`,
    OPENCLAW_GATEWAY_TOKEN: '',
  }
  const clientEnv = (doc: string) => (parse(doc) as { write_files: { path: string; content: string }[] }).write_files.find(f => f.path === '/run/openclaw-provision/client.env')!.content

  const r = await clawbake(['user-data', '--owner', '4242', '--allow-egress', '10.0.2.100:8080', '--allow-egress', '198.51.100.0/24:22,10.0.2.100:8080'], { cwd: root, env })
  t.equal(r.code, 0, r.stderr)
  t.match(clientEnv(r.stdout), /^EGRESS_ALLOW=10\.0\.2\.100:8080,198\.51\.100\.0\/24:22$/m)

  const none = await clawbake(['user-data', '--owner', '4242'], { cwd: root, env })
  t.notMatch(clientEnv(none.stdout), /EGRESS_ALLOW/, 'no flag: the defaults only, nothing recorded')

  const bad = await clawbake(['user-data', '--owner', '4242', '--allow-egress', '*.example.com', '--json'], { cwd: root, env })
  t.equal(bad.code, 2)
  t.match(bad.json(), { ok: false, error: { rule: 'egress.wildcard', field: '--allow-egress' } })
  const http = await clawbake(['user-data', '--owner', '4242'], { cwd: root, env: { ...env, AVOTS_BASE_URL: 'http://api.avots.ai/openai/v1' } })
  t.equal(http.code, 2)
  t.match(http.stderr, /AVOTS_BASE_URL \(--avots-base-url\): \[user-data\.avots-base-url\] plain http to a host name \(api\.avots\.ai\)/, 'the endpoint rule says it first')
  const both = await clawbake(['user-data', '--owner', '4242', '--no-egress-allowlist', '--allow-egress', '10.0.2.100'], { cwd: root, env })
  t.equal(both.code, 2)
  t.match(both.stderr, /user-data\.egress/)

  const off = await clawbake(['user-data', '--owner', '4242', '--no-egress-allowlist'], { cwd: root, env })
  t.equal(off.code, 0, off.stderr)
  t.match(clientEnv(off.stdout), /^EGRESS_ALLOW=off$/m)
  t.match(off.stderr, /WARNING: the egress allowlist is OFF/)
  const file = join(dir, 'user-data.yaml')
  writeFileSync(file, off.stdout, { mode: 0o600 })
  const check = await clawbake(['check', '--user-data', file, '--json'], { cwd: root, env: { CLAWBAKE_ROOT: root } })
  t.equal(check.code, 1)
  t.same(check.json().findings.map((f: { rule: string; file: string }) => [f.rule, f.file]), [['egress.disabled', file]])
})
