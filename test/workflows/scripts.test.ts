// The step scripts run for real (bash, jq, git, the real clawbake CLI); only
// `gh` (GitHub itself) is a stand-in that records what was asked and answers
// with GitHub-shaped JSON.
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync, existsSync, cpSync } from 'node:fs'
import { join } from 'node:path'
import { loadWorkflow, runStep, script, tempDir, REPO } from './workflow.ts'

const watch = loadWorkflow('watch.yml').wf
const bake = loadWorkflow('bake.yml').wf
const deadman = loadWorkflow('deadman.yml').wf

const DIGEST = 'sha256:' + 'ab'.repeat(32)
const epoch = (iso: string) => String(Date.parse(iso) / 1000)

function watchResult(o: { action: 'bake' | 'up-to-date'; tag?: string; urgency?: 'critical' | 'routine' | null; dueBy?: string | null }) {
  return JSON.stringify({
    current: { tag: '2026.9.6', digest: DIGEST },
    latest: o.tag ? { tag: o.tag, publishedAt: '2026-11-18T06:00:00Z', url: `https://github.com/openclaw/openclaw/releases/tag/v${o.tag}` } : null,
    action: o.action,
    urgency: o.urgency ?? null,
    dueBy: o.dueBy ?? null,
    advisories: o.urgency === 'critical' ? [{ ghsaId: 'GHSA-9c4r-qq2w-h7mf', cveId: null, severity: 'high' }] : [],
  })
}

const decideEnv = { ROUTINE_WINDOW_DAY: '2', DUE_MARGIN_HOURS: '24', BUILDER: 'qemu', GH_TOKEN: 'test-token', GH_REPO: 'example/clawbake' }
const dispatches = (gh: string[][]) => gh.filter(a => a[0] === 'workflow' && a[1] === 'run')

t.test('watch decide: critical dispatches bake.yml at once', async t => {
  // 2026-11-20 is a Friday (ISO weekday 5): not the routine window
  const r = await runStep(t, script(watch, 'watch', 'decide'), {
    env: { ...decideEnv, WATCH_NOW: epoch('2026-11-20T12:17:00Z') },
    files: { 'watch.json': watchResult({ action: 'bake', tag: '2026.11.3', urgency: 'critical', dueBy: '2026-11-19T06:00:00Z' }) },
    gh: { runs: [] },
  })
  t.equal(r.code, 0, r.stderr)
  t.equal(r.outputs.decision, 'dispatch')
  t.same(dispatches(r.gh), [['workflow', 'run', 'bake.yml', '-f', 'tag=2026.11.3', '-f', 'urgency=critical', '-f', 'force=false', '-f', 'builder=qemu']])
  t.match(r.outputs.reason, /critical: bake at once; dispatched bake\.yml/)
})

t.test('watch decide: routine outside the window is batched, not dispatched', async t => {
  const r = await runStep(t, script(watch, 'watch', 'decide'), {
    env: { ...decideEnv, WATCH_NOW: epoch('2026-11-20T12:17:00Z') },
    files: { 'watch.json': watchResult({ action: 'bake', tag: '2026.11.4', urgency: 'routine', dueBy: '2026-11-26T12:00:00Z' }) },
    gh: { runs: [] },
  })
  t.equal(r.code, 0, r.stderr)
  t.equal(r.outputs.decision, 'batched')
  t.match(r.outputs.reason, /batched to the weekly window \(ISO weekday 2, UTC\), due by 2026-11-26T12:00:00Z/)
  t.same(r.gh, [], 'GitHub is not even asked')
})

t.test('watch decide: routine in the weekly window is dispatched', async t => {
  // 2026-11-24 is a Tuesday
  const r = await runStep(t, script(watch, 'watch', 'decide'), {
    env: { ...decideEnv, WATCH_NOW: epoch('2026-11-24T09:17:00Z') },
    files: { 'watch.json': watchResult({ action: 'bake', tag: '2026.11.4', urgency: 'routine', dueBy: '2026-11-26T12:00:00Z' }) },
    gh: { runs: [] },
  })
  t.equal(r.outputs.decision, 'dispatch')
  t.match(r.outputs.reason, /weekly bake window/)
  t.equal(dispatches(r.gh).length, 1)
  t.ok(dispatches(r.gh)[0]?.includes('urgency=routine'))
})

t.test('watch decide: routine already (nearly) due is dispatched outside the window', async t => {
  const r = await runStep(t, script(watch, 'watch', 'decide'), {
    env: { ...decideEnv, WATCH_NOW: epoch('2026-11-26T01:17:00Z') }, // Thursday, 10.7 h before dueBy
    files: { 'watch.json': watchResult({ action: 'bake', tag: '2026.11.4', urgency: 'routine', dueBy: '2026-11-26T12:00:00Z' }) },
    gh: { runs: [] },
  })
  t.equal(r.outputs.decision, 'dispatch')
  t.match(r.outputs.reason, /less than 24 h left/)
  t.equal(dispatches(r.gh).length, 1)
})

t.test('watch decide: a bake of the tag already queued or running is not dispatched twice', async t => {
  const files = { 'watch.json': watchResult({ action: 'bake', tag: '2026.11.3', urgency: 'critical', dueBy: '2026-11-19T06:00:00Z' }) }
  const env = { ...decideEnv, WATCH_NOW: epoch('2026-11-20T12:17:00Z') }
  // `gh run list --json status,displayTitle` shape
  const inflight = await runStep(t, script(watch, 'watch', 'decide'), {
    env, files,
    gh: { runs: [
      { status: 'completed', displayTitle: 'bake 2026.11.3 (critical, workflow_dispatch)' },
      { status: 'in_progress', displayTitle: 'bake 2026.11.3 (critical, repository_dispatch)' },
    ] },
  })
  t.equal(inflight.outputs.decision, 'in-flight')
  t.same(dispatches(inflight.gh), [])
  t.same(inflight.gh[0]?.slice(0, 4), ['run', 'list', '--workflow', 'bake.yml'])
  // a finished bake, or a bake of another tag with the same prefix, does not block
  const other = await runStep(t, script(watch, 'watch', 'decide'), {
    env, files,
    gh: { runs: [
      { status: 'completed', displayTitle: 'bake 2026.11.3 (critical, workflow_dispatch)' },
      { status: 'queued', displayTitle: 'bake 2026.11.33 (routine, workflow_dispatch)' },
    ] },
  })
  t.equal(other.outputs.decision, 'dispatch')
  t.equal(dispatches(other.gh).length, 1)
})

t.test('watch decide: up to date does nothing; a prerelease or odd tag is never dispatched', async t => {
  const idle = await runStep(t, script(watch, 'watch', 'decide'), {
    env: { ...decideEnv, WATCH_NOW: epoch('2026-11-24T09:17:00Z') },
    files: { 'watch.json': watchResult({ action: 'up-to-date', tag: '2026.9.6' }) },
  })
  t.equal(idle.code, 0)
  t.equal(idle.outputs.decision, 'none')
  t.same(idle.gh, [])
  for (const tag of ['2026.12.1-beta.1', '2026.11.3; rm -rf /', 'v2026.11.3']) {
    const r = await runStep(t, script(watch, 'watch', 'decide'), {
      env: { ...decideEnv, WATCH_NOW: epoch('2026-11-20T12:17:00Z') },
      files: { 'watch.json': watchResult({ action: 'bake', tag, urgency: 'critical', dueBy: '2026-11-21T06:00:00Z' }) },
      gh: { runs: [] },
    })
    t.equal(r.code, 1, `refused: ${tag}`)
    t.match(r.stdout, /::error title=watch::refusing to dispatch/)
    t.same(dispatches(r.gh), [], `no dispatch for ${tag}`)
  }
})

t.test('watch heartbeat and job summary', async t => {
  const files = { 'watch.json': watchResult({ action: 'bake', tag: '2026.11.3', urgency: 'critical', dueBy: '2026-11-19T06:00:00Z' }) }
  const hb = await runStep(t, script(watch, 'watch', 'Heartbeat'), {
    env: { WATCH_OUTCOME: 'success', DECISION: 'dispatch', RUN_ID: '4242', RUN_ATTEMPT: '1', EVENT: 'schedule' }, files,
  })
  t.equal(hb.code, 0, hb.stderr)
  const beat = JSON.parse(hb.stdout)
  t.match(beat, { workflow: 'watch', runId: 4242, runAttempt: 1, event: 'schedule', outcome: 'success', decision: 'dispatch', action: 'bake', tag: '2026.11.3', urgency: 'critical' })
  t.ok(Math.abs(Date.parse(beat.at) - Date.now()) < 60_000, 'stamped now')
  const none = await runStep(t, script(watch, 'watch', 'Heartbeat'), { env: { WATCH_OUTCOME: 'failure', DECISION: '', RUN_ID: '1', RUN_ATTEMPT: '1', EVENT: 'schedule' } })
  t.equal(none.code, 0, 'a failed watch still leaves a heartbeat record')
  t.match(JSON.parse(none.stdout), { outcome: 'failure', action: null })

  const sum = await runStep(t, script(watch, 'watch', 'Job summary'), {
    env: { DECISION: 'dispatch', REASON: 'critical: bake at once; dispatched bake.yml', RECORDED: 'true' }, files,
  })
  t.equal(sum.code, 0, sum.stderr)
  t.match(sum.summary, '| latest eligible release | 2026.11.3 (published 2026-11-18T06:00:00Z) |')
  t.match(sum.summary, '| action | **bake** |')
  t.match(sum.summary, '| decision | **dispatch**: critical: bake at once; dispatched bake.yml |')
  t.match(sum.summary, '| GHSA-9c4r-qq2w-h7mf | - | high |')
  t.match(sum.summary, `\`${DIGEST}\``)
  const failed = await runStep(t, script(watch, 'watch', 'Job summary'), { env: { DECISION: 'not reached', REASON: 'x', RECORDED: 'false' } })
  t.match(failed.summary, /\*\*watch failed\*\*/)
})

t.test('deadman heartbeat: fails when no scheduled watch succeeded within N hours', async t => {
  const runs = (updated: string) => ({ total_count: 1, workflow_runs: [{ id: 1, name: 'watch', event: 'schedule', status: 'completed', conclusion: 'success', updated_at: updated, html_url: 'https://github.com/example/clawbake/actions/runs/1' }] })
  const env = { WATCH_MAX_SILENCE_HOURS: '4', GH_TOKEN: 't', GH_REPO: 'example/clawbake', DEADMAN_NOW: epoch('2026-11-20T12:43:00Z') }
  const fresh = await runStep(t, script(deadman, 'heartbeat', 'Last successful scheduled watch run'), { env, gh: { api: runs('2026-11-20T11:19:30Z') } })
  t.equal(fresh.code, 0, fresh.stdout + fresh.stderr)
  t.match(fresh.summary, /:white_check_mark: last successful scheduled watch: 2026-11-20T11:19:30Z \(1 h 23 min ago, limit 4 h\)/)
  t.same(fresh.gh, [['api', 'repos/example/clawbake/actions/workflows/watch.yml/runs?event=schedule&status=success&per_page=1']])

  const stale = await runStep(t, script(deadman, 'heartbeat', 'Last successful scheduled watch run'), { env, gh: { api: runs('2026-11-20T08:17:00Z') } })
  t.equal(stale.code, 1)
  t.match(stale.stdout, /::error title=dead man's switch::last successful scheduled watch: 2026-11-20T08:17:00Z \(4 h 26 min ago, limit 4 h\)/)
  t.match(stale.summary, /:x: dead man's switch/)

  const never = await runStep(t, script(deadman, 'heartbeat', 'Last successful scheduled watch run'), { env, gh: { api: { total_count: 0, workflow_runs: [] } } })
  t.equal(never.code, 1)
  t.match(never.stdout, /no successful scheduled watch run on record/)
})

t.test('deadman keepalive re-enables both scheduled workflows; alarm opens or comments', async t => {
  const keep = await runStep(t, script(deadman, 'keepalive', 'Re-enable the scheduled workflows'), { env: { GH_TOKEN: 't', GH_REPO: 'example/clawbake' } })
  t.equal(keep.code, 0, keep.stderr)
  t.same(keep.gh, [
    ['api', '--method', 'PUT', 'repos/example/clawbake/actions/workflows/watch.yml/enable', '--silent'],
    ['api', '--method', 'PUT', 'repos/example/clawbake/actions/workflows/deadman.yml/enable', '--silent'],
  ])
  const env = { GH_TOKEN: 't', GH_REPO: 'example/clawbake', HEARTBEAT: 'failure', SLA: 'success', RUN_URL: 'https://github.com/example/clawbake/actions/runs/9' }
  const first = await runStep(t, script(deadman, 'alarm', 'Open or update the alarm issue'), { env, gh: { issues: [] } })
  t.equal(first.code, 0, first.stderr)
  t.same(first.gh.map(a => a.slice(0, 2)), [['label', 'create'], ['issue', 'list'], ['issue', 'create']])
  t.ok(first.gh[2]?.includes('deadman: heartbeat failure, sla success. Run: https://github.com/example/clawbake/actions/runs/9. See docs/oncall.md.'))
  const again = await runStep(t, script(deadman, 'alarm', 'Open or update the alarm issue'), { env, gh: { issues: [{ number: 17 }] } })
  t.same(again.gh[2]?.slice(0, 3), ['issue', 'comment', '17'])
})

const planEnv = (o: Record<string, string>) => ({ EVENT: 'workflow_dispatch', ACTOR: 'oncall-alice', IN_TAG: '', IN_URGENCY: '', IN_FORCE: '', IN_BUILDER: 'qemu', IN_REASON: '', ...o })

t.test('bake plan: validates and normalises the request', async t => {
  const ok = await runStep(t, script(bake, 'plan', 'request'), { env: planEnv({ IN_TAG: 'v2026.11.3', IN_URGENCY: 'critical', IN_FORCE: 'true' }) })
  t.equal(ok.code, 0, ok.stdout + ok.stderr)
  t.same(ok.outputs, { tag: '2026.11.3', urgency: 'critical', force: 'true', builder: 'qemu', reason: 'workflow_dispatch by oncall-alice' })
  t.match(ok.summary, '| 2026.11.3 | critical | true | qemu | workflow_dispatch by oncall-alice |')

  const oncall = await runStep(t, script(bake, 'plan', 'request'), {
    env: planEnv({ EVENT: 'repository_dispatch', IN_TAG: '2026.11.3-1', IN_URGENCY: 'critical', IN_REASON: 'GHSA-9c4r-qq2w-h7mf\nurgency=routine | paged by sec' }),
  })
  t.equal(oncall.code, 0, oncall.stdout)
  t.equal(oncall.outputLines.length, 5, 'a newline in the reason cannot add an output')
  t.equal(oncall.outputs.urgency, 'critical')
  t.equal(oncall.outputs.reason, 'GHSA-9c4r-qq2w-h7mf urgency=routine | paged by sec')
  t.equal(oncall.outputs.tag, '2026.11.3-1', 'a correction release is bakeable')
})

t.test('bake plan: refuses a bad request before anything runs', async t => {
  const cases: [string, Record<string, string>, RegExp][] = [
    ['injected tag', { IN_TAG: '2026.11.3\nurgency=routine', IN_URGENCY: 'critical' }, /is not an OpenClaw release/],
    ['tag with shell', { IN_TAG: '2026.11.3$(id)', IN_URGENCY: 'critical' }, /is not an OpenClaw release/],
    ['month 13', { IN_TAG: '2026.13.1', IN_URGENCY: 'routine' }, /is not an OpenClaw release: month 13/],
    ['unknown urgency', { IN_TAG: '2026.11.3', IN_URGENCY: 'urgent' }, /urgency 'urgent' must be critical or routine/],
    ['missing urgency', { IN_TAG: '2026.11.3' }, /urgency '' must be critical or routine/],
    ['unknown builder', { IN_TAG: '2026.11.3', IN_URGENCY: 'critical', IN_BUILDER: 'docker' }, /builder 'docker' must be qemu or amazon-ebs/],
    ['bad force', { IN_TAG: '2026.11.3', IN_URGENCY: 'critical', IN_FORCE: 'yes' }, /force 'yes' must be true or false/],
    ['on-call without a reason', { EVENT: 'repository_dispatch', IN_TAG: '2026.11.3', IN_URGENCY: 'critical', IN_REASON: '  ' }, /client_payload\.reason is required/],
  ]
  for (const [what, env, message] of cases) {
    const r = await runStep(t, script(bake, 'plan', 'request'), { env: planEnv(env) })
    t.equal(r.code, 1, what)
    t.match(r.stdout, message, what)
    t.same(r.outputLines, [], `${what}: no outputs`)
  }
  // the tag check is upstream's release regex (openclaw-facts.md), the month is 1-12 by the parser
  t.equal((await runStep(t, script(bake, 'plan', 'request'), { env: planEnv({ IN_TAG: '2026.6.1-beta.3', IN_URGENCY: 'routine' }) })).code, 0, 'a beta can be forced by hand')
})

t.test('bake summary: the gate table and the time to patch', async t => {
  const gates = ['config-valid', 'doctor', 'security-audit', 'models', 'avots-smoke', 'owner-exec', 'stranger-refused', 'untrusted-tools', 'loopback-only', 'no-secret-left']
  const report = (failing: string | null) => ({
    ok: failing === null, tag: '2026.11.3', digest: DIGEST,
    artifact: { builder: 'qemu', id: 'output/clawbake-2026.11.3.qcow2', sha256: 'cd'.repeat(32), sizeBytes: 1 },
    gates: { ok: failing === null, openclawVersion: '2026.11.3', gates: gates.map(id => ({ id, ok: id !== failing, detail: id === failing ? 'exec ran as root | nonce missing' : 'ok', ms: 1500 })) },
    published: failing === null,
  })
  const dir = tempDir(t)
  cpSync(join(REPO, 'test', 'fixtures', 'sla', 'history', 'catalog'), join(dir, 'catalog'), { recursive: true })
  const env = { TAG: '2026.11.3', URGENCY: 'critical', BUILDER: 'qemu' }
  writeFileSync(join(dir, 'bake.json'), JSON.stringify(report('owner-exec')))
  const failed = await runStep(t, script(bake, 'bake-qemu', 'Gate table and time to patch'), { env, cwd: dir })
  t.equal(failed.code, 0, failed.stderr)
  t.match(failed.summary, '### bake 2026.11.3 (critical, qemu)')
  t.match(failed.summary, `**not published**: 2026.11.3 \`${DIGEST}\``)
  t.match(failed.summary, '| owner-exec | **FAIL** | exec ran as root \\| nonce missing | 1.5 s |')
  t.match(failed.summary, '| doctor | pass | ok | 1.5 s |')
  t.match(failed.summary, '### Patch SLA', 'the SLA table from the real clawbake sla')
  t.match(failed.summary, /\| 2026\.11\.3 \| stable \| critical \|.*BREACHED: overdue by/)

  writeFileSync(join(dir, 'bake.json'), 'not json')
  const broken = await runStep(t, script(bake, 'bake-qemu', 'Gate table and time to patch'), { env, cwd: dir })
  t.match(broken.summary, /\*\*bake failed before it produced a report\*\*/)
})

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.invalid', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.invalid' } })
}

t.test('bake publish: only the catalog files travel from the bake job to the branch', async t => {
  const dir = tempDir(t)
  const origin = join(dir, 'origin.git')
  git(dir, 'init', '--quiet', '--bare', '--initial-branch=main', origin)
  const seed = join(dir, 'seed')
  git(dir, 'clone', '--quiet', origin, seed)
  mkdirSync(join(seed, 'catalog'))
  writeFileSync(join(seed, 'catalog', 'stable.json'), '{"schemaVersion":1,"channel":"stable","entries":["2026.9.6"]}\n')
  writeFileSync(join(seed, 'pins.lock.json'), '{"tag":"2026.9.6"}\n')
  writeFileSync(join(seed, 'CHANGELOG.md'), '# Changelog\n')
  mkdirSync(join(seed, 'src'))
  writeFileSync(join(seed, 'src', 'cli.ts'), 'export {}\n')
  git(seed, 'add', '-A')
  git(seed, 'commit', '--quiet', '-m', 'seed')
  git(seed, 'push', '--quiet', 'origin', 'HEAD:main')

  // the bake job's checkout: the bake wrote the catalog entry and the pin
  const baked = join(dir, 'baked')
  git(dir, 'clone', '--quiet', origin, baked)
  writeFileSync(join(baked, 'catalog', 'stable.json'), '{"schemaVersion":1,"channel":"stable","entries":[]}\n')
  mkdirSync(join(baked, 'catalog', 'notes'))
  writeFileSync(join(baked, 'catalog', 'notes', '2026.11.3.md'), '# 2026.11.3\n')
  writeFileSync(join(baked, 'pins.lock.json'), '{"tag":"2026.11.3"}\n')
  writeFileSync(join(baked, 'bake.json'), '{}') // not published
  const files = await runStep(t, script(bake, 'bake-qemu', 'Files to publish'), { env: { TAG: '2026.11.3' }, cwd: baked })
  t.equal(files.code, 0, files.stderr)
  const patch = readFileSync(join(baked, 'publish', 'publish.patch'), 'utf8')
  t.match(patch, 'catalog/notes/2026.11.3.md')
  t.notMatch(patch, 'bake.json')

  // meanwhile watch pushed a release record to the branch
  git(seed, 'pull', '--quiet', 'origin', 'main')
  writeFileSync(join(seed, 'catalog', 'releases.json'), '{"schemaVersion":1,"releases":[]}\n')
  git(seed, 'add', '-A')
  git(seed, 'commit', '--quiet', '-m', 'watch: record')
  git(seed, 'push', '--quiet', 'origin', 'HEAD:main')

  const pub = join(dir, 'pub')
  git(dir, 'clone', '--quiet', origin, pub)
  const run = await runStep(t, script(bake, 'publish', 'commit'), { env: { TAG: '2026.11.3', BRANCH: 'main', PUBLISH_DIR: join(baked, 'publish') }, cwd: pub })
  t.equal(run.code, 0, run.stdout + run.stderr)
  const log = git(origin, 'log', '--format=%s', 'main')
  t.match(log, /^bake: publish openclaw 2026\.11\.3\nwatch: record\nseed/)
  t.equal(git(origin, 'show', 'main:pins.lock.json'), '{"tag":"2026.11.3"}\n')
  t.equal(git(origin, 'show', 'main:catalog/notes/2026.11.3.md'), '# 2026.11.3\n')

  // a bake that touched code is refused and nothing is pushed
  writeFileSync(join(baked, 'src', 'cli.ts'), 'process.exit(0)\n')
  const evil = join(dir, 'evil')
  mkdirSync(evil)
  writeFileSync(join(evil, 'tag'), '2026.11.3\n')
  writeFileSync(join(evil, 'publish.patch'), git(baked, 'diff', '--binary', '--', 'src', 'catalog'))
  const before = git(origin, 'rev-parse', 'main')
  const pub2 = join(dir, 'pub2')
  git(dir, 'clone', '--quiet', origin, pub2)
  const refused = await runStep(t, script(bake, 'publish', 'commit'), { env: { TAG: '2026.11.3', BRANCH: 'main', PUBLISH_DIR: evil }, cwd: pub2 })
  t.equal(refused.code, 1)
  t.match(refused.stdout, /::error title=publish::the bake tried to change files outside the catalog: src\/cli\.ts/)
  t.equal(git(origin, 'rev-parse', 'main'), before, 'nothing pushed')

  // an artifact of another tag is refused
  writeFileSync(join(evil, 'tag'), '2026.11.4\n')
  const wrong = await runStep(t, script(bake, 'publish', 'commit'), { env: { TAG: '2026.11.3', BRANCH: 'main', PUBLISH_DIR: evil }, cwd: pub2 })
  t.equal(wrong.code, 1)
  t.match(wrong.stdout, /artifact is for tag 2026\.11\.4, not 2026\.11\.3/)
  t.notOk(existsSync(join(pub2, 'src', 'cli.ts')) && readFileSync(join(pub2, 'src', 'cli.ts'), 'utf8').includes('exit'), 'work tree untouched')
})
