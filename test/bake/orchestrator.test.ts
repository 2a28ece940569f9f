// The bake orchestrator with real Packer (Debian 1.6.6, null source) and
// injected stages; the gate suite is the gate-runner test double, so these
// tests run in seconds. test/bake/rehearsal.test.ts runs the real modules.
import t from 'tap'
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { gatesFor } from '../../src/gates/gate.ts'
import { bakeCommand } from '../../src/bake/command.ts'
import { lockFile } from '../../src/bake/lock.ts'
import { MASK } from '../../src/bake/mask.ts'
import { schemaValidator } from '../../src/schema/validate.ts'
import { baseEnv, bakeTree, captureIo, filesContaining, GATE_RUNNER, pinnedDigest, snapshot, standinStages, testKey, RELEASE } from './helpers.ts'

const gateRunner = `sh ${GATE_RUNNER}`

async function bake(root: string, args: string[], env: Record<string, string | undefined>, stages = standinStages(root)) {
  const io = captureIo(root, baseEnv(env))
  // --image: the stand-in resolve answers for a loopback registry, so no DNS is needed
  const code = await bakeCommand(['--tag', '2026.9.6', '--builder', 'null', '--image', '127.0.0.1:9/openclaw/openclaw', ...args], io, { stages, clawbakeCommand: gateRunner })
  return { code, stdout: io.stdout(), stderr: io.stderr(), stages, json: () => JSON.parse(io.stdout()) }
}

t.test('a passing bake publishes exactly the pinned digest, with progress per stage', async t => {
  const root = bakeTree(t)
  const key = testKey()
  const r = await bake(root, ['--json'], { AVOTS_API_KEY: key, GATE_RUNNER_MODE: 'pass' })
  t.equal(r.code, 0, "exit 0")
  const out = r.json()
  t.equal(out.ok, true)
  t.equal(out.published, true)
  t.equal(out.digest, pinnedDigest(root))
  t.same(r.stages.calls, ['resolve', 'pin', 'check'], 'watch not needed, each stage once, nothing re-resolves')
  t.same(out.stages.map((s: { stage: string }) => s.stage), ['release', 'resolve', 'pin', 'check', 'prepare', 'validate', 'build', 'gates', 'publish'])

  const catalog = JSON.parse(readFileSync(join(root, 'catalog', 'stable.json'), 'utf8'))
  t.ok(schemaValidator('catalog.schema.json')(catalog), 'catalog matches its schema')
  t.equal(catalog.entries.length, 1)
  const entry = catalog.entries[0]
  t.equal(entry.tag, '2026.9.6')
  t.equal(entry.digest, pinnedDigest(root), 'catalog digest == pin')
  t.equal(entry.artifact.builder, 'null')
  t.same(entry.gates.gates.map((g: { id: string }) => g.id), [...gatesFor('local')], 'every gate that runs without a VM (egress needs one)')
  t.equal(entry.releasedAt, new Date(RELEASE.publishedAt).toISOString())
  t.equal(entry.urgency, 'critical')
  t.ok(entry.timeToPatchHours > 100, 'time to patch counted from the upstream release')

  const notes = readFileSync(join(root, 'catalog', 'notes', '2026.9.6.md'), 'utf8')
  t.match(notes, /GHSA-abcd-efgh-ijkl \(CVE-2026-99999\)/)
  t.match(notes, /\| avots-smoke \| pass \|/)
  const changelog = readFileSync(join(root, 'CHANGELOG.md'), 'utf8')
  t.match(changelog, /### Security\n- Published the stable golden image for OpenClaw 2026\.9\.6/)

  // the manifest Packer wrote for this run carries the schema'd custom_data
  const manifest = JSON.parse(readFileSync(join(root, '.clawbake', 'bake', out.bakeId, 'manifest.json'), 'utf8'))
  t.equal(manifest.builds.length, 1, 'a fresh manifest per run')
  t.ok(schemaValidator('bake-manifest.schema.json')(manifest.builds[0].custom_data))
  t.equal(manifest.builds[0].custom_data.index_digest, pinnedDigest(root))

  t.match(r.stderr, /\[\s+\d+\.\ds\] release\s+2026\.9\.6 published/)
  t.match(r.stderr, /\] build\s+\| ==> null\.rehearsal: Running local shell script/)
  t.match(r.stderr, /\] publish\s+catalog\/notes\/2026\.9\.6\.md, CHANGELOG\.md, catalog\/stable\.json/)
  t.equal(existsSync(lockFile(root)), false, 'lock released')
})

t.test('the same tag and digest again is a no-op; --force bakes and appends again', async t => {
  const root = bakeTree(t)
  const env = { AVOTS_API_KEY: testKey(), GATE_RUNNER_MODE: 'pass' }
  t.equal((await bake(root, [], env)).code, 0)
  const before = snapshot(root)
  const again = await bake(root, ['--json'], env)
  t.equal(again.code, 0)
  t.equal(again.json().noop, true)
  t.equal(again.json().published, false)
  t.match(again.stderr, /already published on stable/)
  t.same([...snapshot(root)], [...before], 'not one byte changed')

  const forced = await bake(root, ['--force', '--json'], env)
  t.equal(forced.code, 0, "exit 0")
  const catalog = JSON.parse(readFileSync(join(root, 'catalog', 'stable.json'), 'utf8'))
  t.equal(catalog.entries.length, 2)
  const changelog = readFileSync(join(root, 'CHANGELOG.md'), 'utf8')
  t.equal(changelog.split('Published the stable golden image for OpenClaw 2026.9.6').length - 1, 1, 'one CHANGELOG bullet per tag+digest')
})

t.test('a failing gate publishes nothing and names the gate (exit 1)', async t => {
  const root = bakeTree(t)
  const before = snapshot(root)
  const r = await bake(root, ['--json'], { AVOTS_API_KEY: testKey(), GATE_RUNNER_MODE: 'fail:avots-smoke' })
  t.equal(r.code, 1)
  const out = r.json()
  t.equal(out.ok, false)
  t.equal(out.published, false)
  t.equal(out.error.rule, 'publish.gate-failed')
  t.match(out.error.message, /gate failed: avots-smoke \(avots answered 401/)
  t.equal(out.gates.ok, false, 'the fetched gate report is in the result')
  t.match(r.stderr, /gates\s+FAILED: gate failed: avots-smoke/)
  t.notOk(existsSync(join(root, 'catalog', 'stable.json')))
  t.notOk(existsSync(join(root, 'catalog', 'notes')))
  const changed = [...snapshot(root)].filter(([f, h]) => before.get(f) !== h).map(([f]) => f)
  t.ok(changed.every(f => f.startsWith('.clawbake/bake/')), `only the run directory changed: ${changed.join(', ')}`)
})

t.test('no secret value appears in any output or file, although the gates printed it', async t => {
  const root = bakeTree(t)
  const key = testKey()
  const debugLog = join(root, 'packer-debug.log')
  const r = await bake(root, ['--json'], { AVOTS_API_KEY: key, GATE_RUNNER_MODE: 'leak', PACKER_LOG: '1', PACKER_LOG_PATH: debugLog })
  t.equal(r.code, 0, "exit 0")
  t.notOk(existsSync(debugLog), "Packer's unmasked debug log is never written")
  t.notOk(r.stdout.includes(key), 'not on stdout')
  t.notOk(r.stderr.includes(key), 'not on stderr')
  t.same(filesContaining(root, key), [], 'not in any file of the tree (logs, manifest, catalog, run dir)')
  t.match(r.stderr, `leaky gate says: key is ${MASK}`, 'the leak happened and was masked (the test can fail)')
  const log = readFileSync(join(root, '.clawbake', 'bake', r.json().bakeId, 'bake.log'), 'utf8')
  t.match(log, `key is ${MASK}`)
  // the generated gateway token (a sensitive Packer variable) did not reach the var file
  const vars = readFileSync(join(root, '.clawbake', 'bake', r.json().bakeId, 'bake.pkrvars.json'), 'utf8')
  t.notMatch(vars, /gateway_token|avots_api_key/)
})

t.test('--dry-run prints the plan and writes nothing', async t => {
  const root = bakeTree(t)
  const before = snapshot(root)
  const r = await bake(root, ['--dry-run', '--json'], { AVOTS_API_KEY: testKey() })
  t.equal(r.code, 0, "exit 0")
  t.same([...snapshot(root)], [...before], 'tree byte-identical, no lock, no run dir')
  t.equal(r.json().dryRun, true)
  t.match(r.json().plan.join('\n'), /packer build -machine-readable -only=null\.rehearsal with openclaw_image=ghcr\.io\/openclaw\/openclaw:2026\.9\.6@sha256:[0-9a-f]{64}/)
  t.same(r.stages.calls, ['resolve'], 'neither pin nor check ran')
})

t.test('a second bake cannot run while one holds the lock; a stale lock is taken over', async t => {
  const root = bakeTree(t)
  mkdirSync(join(root, '.clawbake'), { recursive: true })
  const { hostname } = await import('node:os')
  writeFileSync(lockFile(root), JSON.stringify({ pid: process.pid, host: hostname(), startedAt: '2026-11-25T00:00:00Z', tag: '2026.9.5' }))
  const held = await bake(root, ['--json'], { AVOTS_API_KEY: testKey(), GATE_RUNNER_MODE: 'pass' }).catch(e => e)
  t.equal(held.exitCode, 2)
  t.equal(held.rule, 'bake.locked')
  t.match(held.message, new RegExp(`pid ${process.pid}`))
  t.notOk(existsSync(join(root, 'catalog', 'stable.json')))

  writeFileSync(lockFile(root), JSON.stringify({ pid: 2 ** 22 + 12345, host: hostname(), startedAt: '2026-11-25T00:00:00Z', tag: '2026.9.5' }))
  const stale = await bake(root, [], { AVOTS_API_KEY: testKey(), GATE_RUNNER_MODE: 'pass' })
  t.equal(stale.code, 0, "exit 0")
  t.match(stale.stderr, /took over a stale bake lock/)
  t.notOk(existsSync(lockFile(root)))
})

t.test('a policy finding stops the bake before Packer (exit 1)', async t => {
  const root = bakeTree(t)
  const stages = standinStages(root, {
    async check() {
      return { ok: false, findings: [{ rule: 'compose.not-digest-pinned', file: 'packer/files/docker-compose.yml', path: 'services.openclaw-gateway.image', message: 'image is not pinned by digest' }] }
    },
  })
  const r = await bake(root, ['--json'], { AVOTS_API_KEY: testKey() }, stages)
  t.equal(r.code, 1)
  t.equal(r.json().error.rule, 'bake.check-failed')
  t.match(r.json().error.message, /compose\.not-digest-pinned/)
  t.notOk(existsSync(join(root, '.clawbake', 'bake')), 'Packer never started')
})

t.test('refusals: usage (2), ineligible tag (1), malformed digest (2)', async t => {
  const root = bakeTree(t)
  const env = { AVOTS_API_KEY: testKey() }
  const io = captureIo(root, baseEnv(env))
  const deps = { stages: standinStages(root) }
  await t.rejects(bakeCommand([], io, deps), { exitCode: 2, message: /--tag is required/ })
  await t.rejects(bakeCommand(['--tag', '2026.9.6', '--builder', 'vagrant'], io, deps), { name: 'ClawbakeError', exitCode: 2, rule: 'bake.builder' })
  await t.rejects(bakeCommand(['--tag', '2026.1.1', '--builder', 'null'], io, deps), { exitCode: 1, rule: 'bake.ineligible', message: /security floor/ })
  await t.rejects(bakeCommand(['--tag', '2026.9.6', '--builder', 'null', '--digest', 'sha256:ABC'], io, deps), { name: 'ClawbakeError', exitCode: 2, rule: 'bake.digest-malformed' })
  await t.rejects(bakeCommand(['--tag', '2026.9.6', '--builder', 'null', '--var', 'openclaw_image=x'], io, deps), { name: 'ClawbakeError', exitCode: 2, rule: 'bake.var' })
  t.same(readdirSync(root).sort(), ['CHANGELOG.md', 'catalog', 'packer', 'pins.lock.json'])
})

t.test('missing prerequisites: one message naming each and how to get it (exit 2), nothing written', async t => {
  const { clawbake } = await import('../support/cli.ts')
  const root = bakeTree(t)
  const before = snapshot(root)
  const r = await clawbake(['bake', '--tag', '2026.9.6', '--json'], { cwd: root, env: { CLAWBAKE_ROOT: root, PATH: '/nonexistent', AVOTS_API_KEY: undefined, CLAWBAKE_PACKER: undefined } })
  t.equal(r.code, 2)
  const err = r.json().error
  t.equal(err.rule, 'bake.prerequisites')
  for (const what of ['packer', 'AVOTS_API_KEY', 'qemu-system-x86_64', 'qemu-img', 'xorriso', 'ssh-keygen']) t.ok(err.field.split(',').includes(what), `names ${what}`)
  t.match(err.message, /packer: run `npm run setup`/)
  t.match(err.message, /AVOTS_API_KEY: export AVOTS_API_KEY=/)
  t.equal(r.stderr.split('\n').filter(l => l.startsWith('clawbake bake:')).length, 1, 'one error')
  t.same([...snapshot(root)], [...before])
})

t.test('no release record: one watch poll supplies publishedAt (recorded only when not a dry run)', async t => {
  const root = bakeTree(t)
  rmSync(join(root, 'catalog', 'releases.json'))
  const records: (boolean | undefined)[] = []
  const stages = standinStages(root, {
    async watch(opts) {
      records.push(opts.record)
      return {
        current: { tag: '2026.9.5', digest: 'sha256:' + '1'.repeat(64) },
        latest: { tag: 'v2026.9.6', publishedAt: '2026-11-24T08:00:00Z', url: 'https://github.com/openclaw/openclaw/releases/tag/v2026.9.6' },
        action: 'bake', urgency: 'routine', dueBy: '2026-12-01T08:00:00Z', advisories: [],
      }
    },
  })
  const dry = await bake(root, ['--dry-run', '--json'], { AVOTS_API_KEY: testKey() }, stages)
  t.equal(dry.code, 0)
  const wet = await bake(root, ['--json'], { AVOTS_API_KEY: testKey(), GATE_RUNNER_MODE: 'pass' }, stages)
  t.equal(wet.code, 0, 'exit 0')
  t.same(records, [false, true])
  t.match(wet.stderr, /release\s+2026\.9\.6 published 2026-11-24T08:00:00\.000Z \(GitHub \(watch\)\), urgency routine/)
  const entry = JSON.parse(readFileSync(join(root, 'catalog', 'stable.json'), 'utf8')).entries[0]
  t.equal(entry.releasedAt, '2026-11-24T08:00:00.000Z')

  const other = bakeTree(t)
  rmSync(join(other, 'catalog', 'releases.json'))
  const unknown = await bake(other, ['--json'], { AVOTS_API_KEY: testKey() }, standinStages(other, {
    async watch() {
      return { current: { tag: '2026.9.6', digest: 'sha256:' + '1'.repeat(64) }, latest: null, action: 'up-to-date', urgency: null, dueBy: null, advisories: [] }
    },
  }))
  t.equal(unknown.code, 2)
  t.equal(unknown.json().error.rule, 'bake.release-unknown')
})
