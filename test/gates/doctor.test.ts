// The doctor gate's verdict: each warning's own message in the detail, the
// security warnings the shipped config keeps accepted only through
// packer/doctor-accepted.json, and a new, unlisted one failing the gate.
// The fixtures (test/fixtures/doctor/) are real `openclaw doctor --lint --json`
// output on the shipped openclaw.json laid out as in the build VM (bind "lan",
// owner id filled in, dummy values in the environment):
//   2026.7.35.json, 2026.9.6.json     the shipped config
//   2026.7.35-bundled-skills.json     2026.7.35 before the agents' skill allowlist (31 skills-readiness warnings)
// The last test runs the pinned version's real doctor on the shipped config.
import t from 'tap'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { REPO } from '../support/tree.ts'
import { acceptedDoctorList, classifyDoctorFindings, doctorVerdict, type DoctorFinding } from '../../src/gates/cli-gates.ts'
import { layOutConfig } from '../../src/gates/layout.ts'
import { ensureOpenclaw } from '../../src/openclaw/runtime.ts'
import { readPinRecord } from '../../src/pins/record.ts'
import { run, runOk } from '../../src/proc/run.ts'

const FIXTURES = join(REPO, 'test', 'fixtures', 'doctor')
const recorded = (name: string) => JSON.parse(readFileSync(join(FIXTURES, name), 'utf8')) as { checksRun: number; findings: DoctorFinding[] }
const verdictOn = (doc: unknown, code = 1) => doctorVerdict({ code, stdout: JSON.stringify(doc), stderr: '', ms: 1 })
const accepted = acceptedDoctorList()

t.test('the accepted list: every entry anchored, with a reason', async t => {
  t.ok(accepted.length >= 1)
  for (const e of accepted) {
    t.ok(e.reason.length > 80, `${e.requirement ?? e.match}: a reason a reviewer can judge`)
    t.match(e.match, /^\^.*\$$/)
  }
  t.throws(() => acceptedDoctorList({ accepted: [{ checkId: 'core/doctor/security', match: 'Gateway', reason: 'x' }] }), /must be anchored/)
  t.throws(() => acceptedDoctorList({ accepted: [{ checkId: 'core/doctor/security', match: '^x$' }] }), /reason/)
  t.throws(() => acceptedDoctorList({ accepted: [{ checkId: 'core/doctor/security', match: '^(x$', reason: 'r' }] }))
  t.throws(() => acceptedDoctorList({}), /no "accepted" list/)
})

t.test('2026.7.35 on the shipped config: 9 security lines, all accepted; the detail carries each message', async t => {
  const doc = recorded('2026.7.35.json')
  t.equal(doc.findings.length, 9)
  const v = verdictOn(doc)
  t.equal(v.ok, true, v.detail)
  t.match(v.detail, /^openclaw doctor --lint: 24 checks, 0 error\(s\), 9 warning\(s\)/)
  for (const f of doc.findings) t.ok(v.detail.includes(`${f.checkId}: ${f.message}`), `detail carries: ${f.message}`)
  const c = classifyDoctorFindings(doc.findings, accepted)
  t.equal(c.accepted.length, 9)
  t.same(c.unlisted, [])
})

t.test('2026.9.6 on the shipped config: 2 security warnings accepted, 2 others listed with their messages', async t => {
  const doc = recorded('2026.9.6.json')
  const v = verdictOn(doc)
  t.equal(v.ok, true, v.detail)
  const c = classifyDoctorFindings(doc.findings, accepted)
  t.same(c.accepted.map(a => a.finding.requirement).sort(), ['config.plaintext_secrets', 'gateway.bind_network_accessible'])
  t.same(c.other.map(f => f.checkId).sort(), ['core/doctor/heartbeat-cadence-migration', 'core/doctor/skill-workshop-tool-policy'])
  t.match(v.detail, 'core/doctor/heartbeat-cadence-migration [heartbeat-monitor-create]: Create heartbeat monitor for agent "main" at 30m.')
  t.match(v.detail, 'core/doctor/security [gateway.bind_network_accessible]: WARNING: Gateway bound to "lan" (0.0.0.0) (network-accessible).')
})

t.test('2026.7.35 before the skill allowlist: the skills-readiness warnings are listed by message', async t => {
  const doc = recorded('2026.7.35-bundled-skills.json')
  const c = classifyDoctorFindings(doc.findings, accepted)
  t.equal(c.other.filter(f => f.checkId === 'core/doctor/skills-readiness').length, 31)
  const v = verdictOn(doc)
  t.match(v.detail, 'core/doctor/skills-readiness: trello is allowed but unavailable: env: TRELLO_API_KEY, TRELLO_TOKEN.')
})

t.test('a new, unlisted security warning fails the gate and is named', async t => {
  const doc = recorded('2026.9.6.json')
  const extra = { checkId: 'core/doctor/security', severity: 'warning', message: 'WARNING: Gateway auth is disabled.', requirement: 'gateway.auth_disabled' }
  const v = verdictOn({ ...doc, findings: [...doc.findings, extra] })
  t.equal(v.ok, false)
  t.match(v.detail, 'security warning(s) not in packer/doctor-accepted.json: core/doctor/security [gateway.auth_disabled]: WARNING: Gateway auth is disabled.')
  t.equal(verdictOn(doc).ok, true, 'and without it the same report passes')
})

t.test('2026.7.x layout: a line is accepted only as a detail line of the warning accepted just before it', async t => {
  const doc = recorded('2026.7.35.json')
  const unlisted = { checkId: 'core/doctor/security', severity: 'warning', message: 'WARNING: Gateway auth is disabled.' }
  // glued after an accepted headline, it is still not accepted
  const afterBind = doc.findings.findIndex(f => /Gateway bound to/.test(f.message)) + 1
  const glued = [...doc.findings.slice(0, afterBind), unlisted, ...doc.findings.slice(afterBind)]
  const c = classifyDoctorFindings(glued, accepted)
  t.same(c.unlisted.map(f => f.message), ['WARNING: Gateway auth is disabled.', 'Ensure your auth credentials are strong and not exposed.', 'Safer remote access: keep bind loopback and use Tailscale Serve/Funnel or an SSH tunnel.', 'Example tunnel: ssh -N -L 18789:127.0.0.1:18789 user@gateway-host', 'Docs: https://docs.openclaw.ai/gateway/remote'], 'and the lines after it lost their headline')
  t.equal(verdictOn({ ...doc, findings: glued }).ok, false)
  // a detail line with no headline before it
  const orphan = doc.findings.filter(f => /^Docs:/.test(f.message))
  t.same(classifyDoctorFindings(orphan, accepted).unlisted.length, 1)
  // a secret path nobody reviewed, in the 2026.7.x Paths line
  const paths = doc.findings.map(f => /^Paths:/.test(f.message) ? { ...f, message: `${f.message}, hooks.token` } : f)
  const unlistedPaths = classifyDoctorFindings(paths, accepted).unlisted.map(f => f.message)
  t.equal(unlistedPaths[0], 'Paths: gateway.auth.token, models.providers.avots.apiKey, channels.telegram.botToken, hooks.token')
  t.equal(unlistedPaths.length, 3, 'the lines after it lost their headline too')
  t.equal(verdictOn({ ...doc, findings: paths }).ok, false)
})

t.test('2026.9.x layout: the fixHint lines and the requirement must match too', async t => {
  const doc = recorded('2026.9.6.json')
  const plaintext = doc.findings.find(f => f.requirement === 'config.plaintext_secrets')!
  const morePaths = { ...plaintext, fixHint: plaintext.fixHint!.replace('channels.telegram.botToken', 'channels.telegram.botToken, hooks.token') }
  t.same(classifyDoctorFindings([morePaths], accepted).unlisted.length, 1, 'a secret path nobody reviewed')
  const otherRequirement = { ...plaintext, requirement: 'config.something_else' }
  t.same(classifyDoctorFindings([otherRequirement], accepted).unlisted.length, 1)
  t.same(classifyDoctorFindings([plaintext], accepted).accepted.length, 1)
  const bind = doc.findings.find(f => f.requirement === 'gateway.bind_network_accessible')!
  const custom = { ...bind, message: bind.message.replace('"lan" (0.0.0.0)', '"custom" (10.0.0.5)') }
  t.same(classifyDoctorFindings([custom], accepted).unlisted.length, 1, 'another bind is not the accepted one')
})

t.test('an error fails, and so does a report that is not one', async t => {
  const doc = recorded('2026.9.6.json')
  const v = verdictOn({ ...doc, findings: [...doc.findings, { checkId: 'core/doctor/config', severity: 'error', message: 'config is broken' }] })
  t.equal(v.ok, false)
  t.match(v.detail, 'errors: core/doctor/config: config is broken')
  t.equal(doctorVerdict({ code: 2, stdout: '', stderr: 'boom', ms: 1 }).ok, false)
  t.equal(verdictOn({ ok: true, checksRun: 3, findings: [] }, 0).ok, true)
})

t.test('the pinned OpenClaw\'s real doctor on the shipped config, laid out as in the VM: the gate passes', async t => {
  const tag = readPinRecord(join(REPO, 'pins.lock.json')).tag
  const rt = await ensureOpenclaw(tag, process.env)
  const home = mkdtempSync(join(tmpdir(), 'clawbake-doctor-'))
  t.teardown(() => rmSync(home, { recursive: true, force: true }))
  const keys = join(home, '.openclaw', 'sandbox')
  mkdirSync(keys, { recursive: true, mode: 0o700 })
  await runOk('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(keys, 'id_ed25519')])
  writeFileSync(join(keys, 'known_hosts'), `[127.0.0.1]:2222 ${readFileSync(join(keys, 'id_ed25519.pub'), 'utf8')}`, { mode: 0o600 })
  const config = layOutConfig(readFileSync(join(REPO, 'packer/files/openclaw.json'), 'utf8'), {
    ownerId: '4242424242',
    apiRoot: 'http://127.0.0.1:9',
    sandboxSsh: { target: 'sandbox@127.0.0.1:2222', identityFile: join(keys, 'id_ed25519'), knownHostsFile: join(keys, 'known_hosts'), workspaceRoot: '/srv/openclaw-sandbox/workspaces' },
  })
  t.match(config, /"bind": "lan"/, 'the VM layout: lan inside the container')
  writeFileSync(join(home, '.openclaw', 'openclaw.json'), config, { mode: 0o600 })
  const env = {
    PATH: '/usr/bin:/bin', HOME: home, LANG: 'C.UTF-8', TZ: 'UTC', NO_COLOR: '1', OPENCLAW_HIDE_BANNER: '1',
    OPENCLAW_GATEWAY_TOKEN: 'g'.repeat(64), AVOTS_BASE_URL: 'https://api.avots.ai/openai/v1', AVOTS_API_KEY: `dummy-${'a'.repeat(40)}`,
    TELEGRAM_BOT_TOKEN: `123456:${'A'.repeat(35)}`, TELEGRAM_API_ROOT: 'http://127.0.0.1:9', OWNER_TELEGRAM_ID: '4242424242',
  }
  const r = await run(rt.node, [rt.entry, 'doctor', '--lint', '--json'], { cwd: home, env, timeoutMs: 180_000 })
  const v = doctorVerdict({ code: r.code ?? 1, stdout: r.stdout, stderr: r.stderr, ms: r.ms })
  t.equal(v.ok, true, v.detail)
  t.notMatch(v.detail, /skills-readiness/, 'no bundled skill left enabled')
  t.match(v.detail, /accepted \(packer\/doctor-accepted\.json\): core\/doctor\/security/, 'the bind and plaintext warnings are there, accepted')
})
