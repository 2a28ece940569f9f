// packer/files/first-boot.sh lays the state out exactly as first boot does
// (OPENCLAW_FIRST_BOOT_SYSTEM=0 skips only user/systemd/compose), and the
// pinned OpenClaw's `security audit --json` on that layout finds nothing
// critical. Invalid client values stop it before anything is written.
import t from 'tap'
import { spawn } from 'node:child_process'
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { REPO } from '../support/tree.ts'
import { ensureOpenclaw } from '../../src/openclaw/runtime.ts'
import { readPinRecord } from '../../src/pins/record.ts'
import { checkArtifacts } from '../../src/policy/check.ts'

function run(cmd: string, args: string[], env: Record<string, string>): Promise<{ code: number; out: string; err: string }> {
  return new Promise(resolve => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', d => { out += String(d) })
    child.stderr.on('data', d => { err += String(d) })
    child.on('close', code => resolve({ code: code ?? 2, out, err }))
  })
}

function layout(t: { teardown(fn: () => void): void }) {
  const dir = mkdtempSync(join(tmpdir(), 'clawbake-firstboot-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const root = join(dir, 'opt-openclaw')
  cpSync(join(REPO, 'packer', 'files'), root, { recursive: true })
  const secrets = {
    owner: '4242424242',
    avots: `avots-test-${randomBytes(16).toString('hex')}`,
    telegram: `123456789:AA${randomBytes(24).toString('base64url').slice(0, 33)}`,
  }
  const clientEnv = join(dir, 'client.env')
  const firstBoot = (content: string) => {
    writeFileSync(clientEnv, content, { mode: 0o600 })
    return run('bash', [join(root, 'first-boot.sh'), clientEnv], {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      OPENCLAW_ROOT: root,
      OPENCLAW_SANDBOX_ETC: join(dir, 'etc-openclaw-sandbox'),
      OPENCLAW_FIRST_BOOT_SYSTEM: '0',
    })
  }
  return { dir, root, state: join(root, 'state'), clientEnv, secrets, firstBoot }
}

const mode = (p: string) => (statSync(p).mode & 0o777).toString(8)

t.test('first boot writes 0600/0700 state owned 1000:1000, fills the owner in, generates a gateway token', async t => {
  const l = layout(t)
  const r = await l.firstBoot(`OWNER_TELEGRAM_ID=${l.secrets.owner}\nAVOTS_API_KEY=${l.secrets.avots}\nTELEGRAM_BOT_TOKEN=${l.secrets.telegram}\nOPENCLAW_GATEWAY_TOKEN=\n`)
  t.equal(r.code, 0, r.err)
  t.notOk(r.err.includes(l.secrets.avots) || r.err.includes(l.secrets.telegram), 'no secret in its output')
  t.notOk(existsSync(l.clientEnv), 'client.env is deleted')
  t.equal(mode(l.state), '700')
  for (const f of ['openclaw.json', '.env', 'sandbox/id_ed25519', 'sandbox/known_hosts']) {
    t.equal(mode(join(l.state, f)), '600', `${f} is 0600`)
    t.equal(statSync(join(l.state, f)).uid, 1000, `${f} owned by uid 1000`)
    t.equal(statSync(join(l.state, f)).gid, 1000, `${f} owned by gid 1000`)
  }
  const config = JSON.parse(readFileSync(join(l.state, 'openclaw.json'), 'utf8'))
  t.same(config.channels.telegram.allowFrom, [l.secrets.owner])
  t.ok(config.tools.toolsBySender[`id:${l.secrets.owner}`], 'owner key filled in (OpenClaw does not expand ${VAR} in keys)')
  t.notOk(JSON.stringify(config).includes('OWNER_TELEGRAM_ID'))
  const env = readFileSync(join(l.state, '.env'), 'utf8')
  t.match(env, new RegExp(`^AVOTS_API_KEY=${l.secrets.avots}$`, 'm'))
  t.match(env, /^OPENCLAW_GATEWAY_TOKEN=[0-9a-f]{64}$/m, 'a 32-byte gateway token was generated')
  t.match(readFileSync(join(l.state, 'sandbox', 'known_hosts'), 'utf8'), /^\[openclaw-sandbox\]:2222 ssh-ed25519 /)
  t.match(readFileSync(join(l.dir, 'etc-openclaw-sandbox', 'authorized_keys'), 'utf8'), /^restrict ssh-ed25519 /)

  // the provisioned config still satisfies the policy (template vs provisioned)
  const tree = join(l.dir, 'tree')
  mkdirSync(tree)
  cpSync(join(REPO, 'packer'), join(tree, 'packer'), { recursive: true })
  cpSync(join(REPO, 'pins.lock.json'), join(tree, 'pins.lock.json'))
  const report = await checkArtifacts({ root: tree, env: process.env, config: join(l.state, 'openclaw.json') })
  t.same(report, { ok: true, findings: [] })
})

t.test('`openclaw security audit --json` on the first-boot layout: zero critical (and it does see a bad mode)', async t => {
  const l = layout(t)
  const r = await l.firstBoot(`OWNER_TELEGRAM_ID=${l.secrets.owner}\nAVOTS_API_KEY=${l.secrets.avots}\nTELEGRAM_BOT_TOKEN=${l.secrets.telegram}\n`)
  t.equal(r.code, 0, r.err)
  const oc = await ensureOpenclaw(readPinRecord(join(REPO, 'pins.lock.json')).tag)
  const audit = async () => {
    const home = join(l.dir, 'home')
    mkdirSync(home, { recursive: true })
    const a = await run(oc.node, [oc.entry, 'security', 'audit', '--json'], { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, OPENCLAW_STATE_DIR: l.state, NO_COLOR: '1' })
    return JSON.parse(a.out.slice(a.out.indexOf('{'))) as { summary: { critical: number; warn: number }; findings: { checkId: string; severity: string }[] }
  }
  const good = await audit()
  t.equal(good.summary.critical, 0, JSON.stringify(good.findings.filter(f => f.severity === 'critical')))
  chmodSync(join(l.state, 'openclaw.json'), 0o644)
  const bad = await audit()
  t.ok(bad.summary.critical > 0, 'a world-readable openclaw.json is critical: the audit really reads this layout')
})

t.test('invalid client values stop first boot before anything is written', async t => {
  const l = layout(t)
  for (const content of [
    `OWNER_TELEGRAM_ID=12ab\nAVOTS_API_KEY=${l.secrets.avots}\nTELEGRAM_BOT_TOKEN=${l.secrets.telegram}\n`,
    `OWNER_TELEGRAM_ID=${l.secrets.owner}\nAVOTS_API_KEY=\nTELEGRAM_BOT_TOKEN=${l.secrets.telegram}\n`,
    `OWNER_TELEGRAM_ID=${l.secrets.owner}\nAVOTS_API_KEY=${l.secrets.avots}\nTELEGRAM_BOT_TOKEN=not-a-token\n`,
    `OWNER_TELEGRAM_ID=${l.secrets.owner}\nAVOTS_API_KEY=${l.secrets.avots}\nTELEGRAM_BOT_TOKEN=${l.secrets.telegram}\nEVIL=$(touch /tmp/x)\n`,
    '', // the snippet as shipped: no values
  ]) {
    const r = await l.firstBoot(content)
    t.equal(r.code, 1, r.err)
    t.match(r.err, /^first-boot: /)
    t.notOk(existsSync(l.state), 'no state written')
  }
  t.same(readdirSync(l.root).sort(), readdirSync(join(REPO, 'packer', 'files')).sort())
})

t.test('an invalid egress allowlist stops first boot before anything is written; off is logged', async t => {
  const l = layout(t)
  const values = `OWNER_TELEGRAM_ID=${l.secrets.owner}\nAVOTS_API_KEY=${l.secrets.avots}\nTELEGRAM_BOT_TOKEN=${l.secrets.telegram}\n`
  for (const [extra, why] of [
    ['EGRESS_ALLOW=*.example.com\n', /wildcards are not allowed/],
    ['EGRESS_ALLOW=api.example.com,10.0.0.0/16\n', /wider than \/24/],
    ['EGRESS_ALLOW=off,api.example.com\n', /off cannot be combined/],
    ['AVOTS_BASE_URL=https://169.254.169.254/v1\n', /link-local/],
  ] as const) {
    const r = await l.firstBoot(values + extra)
    t.equal(r.code, 1, r.err)
    t.match(r.err, why)
    t.match(r.err, /first-boot: EGRESS_ALLOW is invalid|first-boot: AVOTS_BASE_URL: no egress entry/)
    t.notOk(existsSync(l.state), 'no state written')
  }
  const off = await l.firstBoot(values + 'EGRESS_ALLOW=off\n')
  t.equal(off.code, 0, off.err)
  t.match(off.err, /WARNING: egress allowlist OFF by the client's explicit choice/)
})
