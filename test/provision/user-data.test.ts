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
