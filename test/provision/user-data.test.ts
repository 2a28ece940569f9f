// `clawbake user-data`: valid cloud-config (checked by the real cloud-init)
// carrying the client's values; secrets only from files or env, never argv;
// refusals change nothing and leak nothing.
import t from 'tap'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse } from 'yaml'
import { clawbake } from '../support/cli.ts'
import { tempTree } from '../support/tree.ts'
import { validateCloudConfig } from '../../src/provision/cloud-init.ts'

function secrets(t: { teardown(fn: () => void): void }) {
  const dir = mkdtempSync(join(tmpdir(), 'clawbake-userdata-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const avots = `avots-test-${randomBytes(16).toString('hex')}`
  const telegram = `987654321:AA${randomBytes(24).toString('base64url').slice(0, 33)}`
  writeFileSync(join(dir, 'avots.key'), avots + '\n', { mode: 0o600 })
  writeFileSync(join(dir, 'telegram.token'), telegram + '\n', { mode: 0o600 })
  return { dir, avots, telegram }
}

const clientEnv = (doc: string): string => {
  const parsed = parse(doc) as { write_files: { path: string; content: string; permissions: string; owner: string }[] }
  const entry = parsed.write_files.find(f => f.path === '/run/openclaw-provision/client.env')!
  return entry.content
}

t.test('secrets from files: valid cloud-config with the client values, no token => generated at first boot', async t => {
  const root = tempTree(t)
  const s = secrets(t)
  const r = await clawbake(['user-data', '--owner', '4242', '--avots-key-file', join(s.dir, 'avots.key'), '--telegram-token-file', join(s.dir, 'telegram.token')], { cwd: root, env: { CLAWBAKE_ROOT: root, AVOTS_API_KEY: '', TELEGRAM_BOT_TOKEN: '', OPENCLAW_GATEWAY_TOKEN: '' } })
  t.equal(r.code, 0, r.stderr)
  t.match(r.stdout, /^#cloud-config\n/)
  t.same(await validateCloudConfig(r.stdout), { valid: true, errors: [] }, 'cloud-init schema accepts it')
  t.equal(clientEnv(r.stdout), `OWNER_TELEGRAM_ID=4242\nAVOTS_API_KEY=${s.avots}\nTELEGRAM_BOT_TOKEN=${s.telegram}\nOPENCLAW_GATEWAY_TOKEN=\n`)
  t.match(r.stdout, /first-boot\.sh/)
  t.notOk(r.stderr.includes(s.avots) || r.stderr.includes(s.telegram), 'no secret on stderr')
})

t.test('secrets from env; --json wraps the document', async t => {
  const root = tempTree(t)
  const s = secrets(t)
  const gw = randomBytes(32).toString('hex')
  const r = await clawbake(['user-data', '--owner', '77', '--json'], { cwd: root, env: { CLAWBAKE_ROOT: root, AVOTS_API_KEY: s.avots, TELEGRAM_BOT_TOKEN: s.telegram, OPENCLAW_GATEWAY_TOKEN: gw } })
  t.equal(r.code, 0, r.stderr)
  const doc = r.json()
  t.equal(doc.ok, true)
  t.match(clientEnv(doc.userData), new RegExp(`^OPENCLAW_GATEWAY_TOKEN=${gw}$`, 'm'))
})

t.test('a secret is never taken from argv, and never echoed when someone tries', async t => {
  const root = tempTree(t)
  const s = secrets(t)
  const before = readFileSync(join(root, 'packer/files/cloud-init.yaml'), 'utf8')
  for (const args of [
    ['--owner', '4242', '--avots-key', s.avots],
    ['--owner', '4242', `--telegram-token=${s.telegram}`],
    ['--owner', '4242', s.avots],
  ]) {
    const r = await clawbake(['user-data', ...args, '--json'], { cwd: root, env: { CLAWBAKE_ROOT: root, AVOTS_API_KEY: '', TELEGRAM_BOT_TOKEN: '' } })
    t.equal(r.code, 2, `refused: ${args[2]?.slice(0, 8)}`)
    t.notOk(r.stdout.includes('#cloud-config'))
    t.equal(r.json().ok, false)
  }
  // env has the secrets; argv only a bogus positional: refused, no document
  const r = await clawbake(['user-data', '--owner', '4242', 'extra'], { cwd: root, env: { CLAWBAKE_ROOT: root, AVOTS_API_KEY: s.avots, TELEGRAM_BOT_TOKEN: s.telegram } })
  t.equal(r.code, 2)
  t.equal(r.stdout, '')
  t.equal(readFileSync(join(root, 'packer/files/cloud-init.yaml'), 'utf8'), before, 'nothing on disk changed')
})

t.test('bad values are refused with one clear error naming the rule', async t => {
  const root = tempTree(t)
  const s = secrets(t)
  const cases: [string[], Record<string, string>, RegExp][] = [
    [['--owner', 'alice'], { AVOTS_API_KEY: s.avots, TELEGRAM_BOT_TOKEN: s.telegram }, /user-data\.owner/],
    [[], { AVOTS_API_KEY: s.avots, TELEGRAM_BOT_TOKEN: s.telegram }, /user-data\.owner/],
    [['--owner', '4242'], { AVOTS_API_KEY: '', TELEGRAM_BOT_TOKEN: s.telegram }, /user-data\.avots-key/],
    [['--owner', '4242'], { AVOTS_API_KEY: s.avots, TELEGRAM_BOT_TOKEN: 'nope' }, /user-data\.telegram-token/],
    [['--owner', '4242', '--avots-key-file', join(s.dir, 'missing')], { TELEGRAM_BOT_TOKEN: s.telegram }, /user-data\.secret-file/],
  ]
  for (const [args, env, rule] of cases) {
    const r = await clawbake(['user-data', ...args], { cwd: root, env: { CLAWBAKE_ROOT: root, OPENCLAW_GATEWAY_TOKEN: '', ...env } })
    t.equal(r.code, 2, r.stderr)
    t.match(r.stderr, rule)
    t.equal(r.stdout, '')
    t.notOk(r.stderr.includes(s.avots) || r.stderr.includes(s.telegram), 'no secret in the error')
  }
})

t.test('a snippet cloud-init rejects is refused (exit 1), nothing printed', async t => {
  const root = tempTree(t)
  const s = secrets(t)
  const file = join(root, 'packer/files/cloud-init.yaml')
  writeFileSync(file, readFileSync(file, 'utf8').replace('runcmd:\n', 'runcmd: 42\nx_runcmd:\n'))
  const r = await clawbake(['user-data', '--owner', '4242'], { cwd: root, env: { CLAWBAKE_ROOT: root, AVOTS_API_KEY: s.avots, TELEGRAM_BOT_TOKEN: s.telegram } })
  t.equal(r.code, 1, r.stderr)
  t.match(r.stderr, /user-data\.cloud-init-invalid/)
  t.equal(r.stdout, '')
  t.notOk(r.stderr.includes(s.avots), 'no secret in the error')
})

t.test('--telegram-api-root and --avots-base-url: rendered into client.env for first boot', async t => {
  const root = tempTree(t)
  const s = secrets(t)
  const r = await clawbake(['user-data', '--owner', '4242', '--telegram-api-root', 'https://bot-api.example.net/', '--avots-base-url', 'http://10.0.2.2:8080/v1'], { cwd: root, env: { CLAWBAKE_ROOT: root, AVOTS_API_KEY: s.avots, TELEGRAM_BOT_TOKEN: s.telegram, AVOTS_BASE_URL: '' } })
  t.equal(r.code, 0, r.stderr)
  const env = clientEnv(r.stdout)
  t.match(env, /^TELEGRAM_API_ROOT=https:\/\/bot-api\.example\.net$/m, 'the Bot API root, trailing slash dropped')
  t.match(env, /^AVOTS_BASE_URL=http:\/\/10\.0\.2\.2:8080\/v1$/m, 'plain http to a private address given on purpose')
  t.equal(env.match(/^AVOTS_BASE_URL=/gm)?.length, 1, 'one AVOTS_BASE_URL line (a second, later one would win in first-boot.sh)')
  const slash = await clawbake(['user-data', '--owner', '4242', '--avots-base-url', 'https://gw.example.net/v1/'], { cwd: root, env: { CLAWBAKE_ROOT: root, AVOTS_API_KEY: s.avots, TELEGRAM_BOT_TOKEN: s.telegram, AVOTS_BASE_URL: '' } })
  t.equal(slash.code, 0, slash.stderr)
  t.same(clientEnv(slash.stdout).split('\n').filter(l => l.startsWith('AVOTS_BASE_URL=')), ['AVOTS_BASE_URL=https://gw.example.net/v1'], 'only the normalized URL, trailing slash dropped')
  t.equal((await validateCloudConfig(r.stdout)).valid, true)
  // first-boot.sh accepts exactly these keys (it refuses unknown ones)
  const fb = readFileSync(join(root, 'packer/files/first-boot.sh'), 'utf8')
  for (const key of env.split('\n').filter(Boolean).map(l => l.split('=')[0])) t.match(fb, new RegExp(`^    ${key}\\)`, 'm'), `first-boot.sh reads ${key}`)
  const none = await clawbake(['user-data', '--owner', '4242'], { cwd: root, env: { CLAWBAKE_ROOT: root, AVOTS_API_KEY: s.avots, TELEGRAM_BOT_TOKEN: s.telegram, AVOTS_BASE_URL: '' } })
  t.notMatch(clientEnv(none.stdout), /TELEGRAM_API_ROOT|AVOTS_BASE_URL/, 'without them, first boot keeps its defaults (api.telegram.org, api.avots.ai)')
})

t.test('endpoints: https, or plain http only to a loopback, link-local or private address; refusals name field and rule', async t => {
  const root = tempTree(t)
  const s = secrets(t)
  const cases: [string, string, RegExp][] = [
    ['--telegram-api-root', 'http://bot-api.example.net', /TELEGRAM_API_ROOT \(--telegram-api-root\): \[user-data\.telegram-api-root\] plain http to a host name/],
    ['--telegram-api-root', 'http://149.154.167.220', /\[user-data\.telegram-api-root\] plain http to the public address 149\.154\.167\.220/],
    ['--avots-base-url', 'ftp://10.0.0.1/v1', /AVOTS_BASE_URL \(--avots-base-url\): \[user-data\.avots-base-url\] the scheme must be https, not ftp/],
    ['--avots-base-url', 'https://user:pw@llm.example.net/v1', /\[user-data\.avots-base-url\] credentials do not belong in the URL/],
    ['--avots-base-url', 'not a url', /\[user-data\.avots-base-url\]/],
  ]
  for (const [opt, url, rule] of cases) {
    const r = await clawbake(['user-data', '--owner', '4242', opt, url, '--json'], { cwd: root, env: { CLAWBAKE_ROOT: root, AVOTS_API_KEY: s.avots, TELEGRAM_BOT_TOKEN: s.telegram, AVOTS_BASE_URL: '' } })
    t.equal(r.code, 2, `${url}: ${r.stderr}`)
    t.match(r.stderr, rule)
    t.equal(r.json().ok, false)
    t.notOk(r.stdout.includes(s.avots) || r.stderr.includes(s.avots), 'no user-data, no secret')
  }
  // the egress allowlist is the stricter half: IPv4 only, never the link-local metadata service
  for (const [url, rule] of [['http://169.254.10.1', /TELEGRAM_API_ROOT: \[egress\.link-local\]/], ['http://[fd00::5]:80', /TELEGRAM_API_ROOT: \[egress\.malformed\] .*IPv6 is not allowed/]] as const) {
    const r = await clawbake(['user-data', '--owner', '4242', '--telegram-api-root', url], { cwd: root, env: { CLAWBAKE_ROOT: root, AVOTS_API_KEY: s.avots, TELEGRAM_BOT_TOKEN: s.telegram } })
    t.equal(r.code, 2, url)
    t.match(r.stderr, rule)
  }
  for (const url of ['http://127.0.0.1:8081', 'http://192.168.1.20:8080', 'http://10.0.2.2:41001', 'https://api.telegram.org']) {
    const r = await clawbake(['user-data', '--owner', '4242', '--telegram-api-root', url], { cwd: root, env: { CLAWBAKE_ROOT: root, AVOTS_API_KEY: s.avots, TELEGRAM_BOT_TOKEN: s.telegram } })
    t.equal(r.code, 0, `${url} accepted: ${r.stderr}`)
  }
})

t.test('a plaintext secret in the shipped config, or a malformed owner: refused with file, field and rule', async t => {
  const root = tempTree(t)
  const s = secrets(t)
  const cfg = join(root, 'packer/files/openclaw.json')
  const doc = JSON.parse(readFileSync(cfg, 'utf8'))
  doc.models.providers.avots.apiKey = 'sk-literal-key-pasted-into-the-config-000000'
  writeFileSync(cfg, JSON.stringify(doc, null, 2))
  const r = await clawbake(['user-data', '--owner', '4242', '--json'], { cwd: root, env: { CLAWBAKE_ROOT: root, AVOTS_API_KEY: s.avots, TELEGRAM_BOT_TOKEN: s.telegram } })
  t.equal(r.code, 1, r.stderr)
  const e = r.json().error
  t.equal(e.rule, 'user-data.plaintext-secret')
  t.equal(e.file, cfg)
  t.equal(e.field, '/models/providers/avots/apiKey')
  t.notOk(r.stderr.includes('sk-literal-key-pasted'), 'the secret is not repeated')
  const owner = await clawbake(['user-data', '--owner', '04242', '--json'], { cwd: root, env: { CLAWBAKE_ROOT: root, AVOTS_API_KEY: s.avots, TELEGRAM_BOT_TOKEN: s.telegram } })
  t.equal(owner.code, 2)
  t.same([owner.json().error.rule, owner.json().error.field], ['user-data.owner', 'OWNER_TELEGRAM_ID (--owner)'])
})

t.test('--state-disk: rendered as STATE_DISK for first boot; anything but a /dev path is refused, naming field and rule', async t => {
  const root = tempTree(t)
  const s = secrets(t)
  const env = { CLAWBAKE_ROOT: root, AVOTS_API_KEY: s.avots, TELEGRAM_BOT_TOKEN: s.telegram, AVOTS_BASE_URL: '' }
  const r = await clawbake(['user-data', '--owner', '4242', '--state-disk', '/dev/nvme1n1'], { cwd: root, env })
  t.equal(r.code, 0, r.stderr)
  t.match(clientEnv(r.stdout), /^STATE_DISK=\/dev\/nvme1n1$/m)
  t.match(r.stderr, /first boot uses \/dev\/nvme1n1/)
  t.match(readFileSync(join(root, 'packer/files/first-boot.sh'), 'utf8'), /^    STATE_DISK\)/m, 'first-boot.sh reads STATE_DISK')
  const none = await clawbake(['user-data', '--owner', '4242'], { cwd: root, env })
  t.notMatch(clientEnv(none.stdout), /STATE_DISK/, 'without it, first boot looks for the label or serial openclaw-state')
  t.match(none.stderr, /attach one with serial or label openclaw-state, or give --state-disk \(docs\/state\.md\)/)
  for (const bad of ['sdb', '/dev/sdb; rm -rf /', '/dev/../etc/passwd', '/tmp/disk']) {
    const b = await clawbake(['user-data', '--owner', '4242', '--state-disk', bad], { cwd: root, env })
    t.equal(b.code, 2, bad)
    t.match(b.stderr, /STATE_DISK \(--state-disk\): \[user-data\.state-disk\] --state-disk must be a device path under \/dev/, bad)
    t.equal(b.stdout, '', 'nothing printed')
  }
})
