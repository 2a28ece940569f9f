// Assertions over the parsed workflows: what the linter cannot know.
// Least-privilege permissions per job, every action pinned by full commit SHA
// with a version comment, secrets only in the protected environment, OIDC for
// the cloud builder, the bake's concurrency, inputs and dispatch type, and
// schedules off the hour.
import t from 'tap'
import { parse } from 'yaml'
import { loadWorkflow, workflowFiles, step, type Job, type Workflow } from './workflow.ts'

const all = workflowFiles().map(f => ({ file: f, ...loadWorkflow(f) }))
const get = (f: string) => {
  const w = all.find(w => w.file === f)
  if (!w) throw new Error(`no ${f}`)
  return w
}

/** The verified pins (commit SHAs of these release tags; see the report). */
const PINNED: Record<string, { sha: string; version: string }> = {
  'actions/checkout': { sha: '11bd71901bbe5b1630ceea73d27597364c9af683', version: 'v4.2.2' },
  'actions/setup-node': { sha: '49933ea5288caeca8642d1e84afbd3f7d6820020', version: 'v4.4.0' },
  'actions/upload-artifact': { sha: 'ea165f8d65b6e75b540449e92b4886f43607fa02', version: 'v4.6.2' },
  'actions/download-artifact': { sha: 'd3f86a106a0bac45b974a628896c90dbdf5c8093', version: 'v4.3.0' },
  'aws-actions/configure-aws-credentials': { sha: 'e3dd6a429d7300a6a4c196c26e071d42e0343502', version: 'v4.0.2' },
  'hashicorp/setup-packer': { sha: 'c3d53c525d422944e50ee27b840746d6522b08de', version: 'v3.2.0' },
}

/** What is wrong with the action pins of one workflow (empty: nothing). */
function pinProblems(file: string, raw: string, wf: Workflow): { problems: string[]; uses: number } {
  const problems: string[] = []
  let uses = 0
  for (const [jobId, job] of Object.entries(wf.jobs)) {
    if (job.uses && !job.uses.startsWith('./')) problems.push(`${file} ${jobId}: remote reusable workflow ${job.uses}`)
    for (const s of job.steps ?? []) {
      if (!s.uses) continue
      uses++
      const m = /^([\w.-]+\/[\w.-]+)(\/[\w./-]+)?@([0-9a-f]{40})$/.exec(s.uses)
      if (!m) { problems.push(`${file} ${jobId} "${s.name}": ${s.uses} is not pinned by a 40-hex commit SHA`); continue }
      const pin = PINNED[m[1] as string]
      if (!pin) { problems.push(`${file}: ${m[1]} is not a reviewed action`); continue }
      if (m[3] !== pin.sha) problems.push(`${file}: ${m[1]} at ${m[3]}, not the reviewed ${pin.sha}`)
      // every source line using it carries the version the SHA stands for
      for (const line of raw.split('\n').filter(l => l.includes(`uses: ${s.uses}`))) {
        if (!line.endsWith(`uses: ${s.uses} # ${pin.version}`)) problems.push(`${file}: "${line.trim()}" lacks "# ${pin.version}"`)
      }
    }
  }
  if (/uses:\s*\S+@(v\d|main|master|latest)\b/.test(raw)) problems.push(`${file}: a tag or branch ref`)
  return { problems, uses }
}

t.test('every action is pinned by a full commit SHA with its version in a comment', async t => {
  let n = 0
  for (const { file, raw, wf } of all) {
    const r = pinProblems(file, raw, wf)
    t.same(r.problems, [], file)
    n += r.uses
  }
  t.ok(n >= 20, `${n} action uses checked`)
})

t.test('the pin check catches a tag ref, a foreign SHA, a missing comment', async t => {
  const { raw } = get('bake.yml')
  const mutations: [string, string][] = [
    ['tag ref', raw.replace(/actions\/checkout@[0-9a-f]{40} # v4\.2\.2/, 'actions/checkout@v4')],
    ['short SHA', raw.replace(/(hashicorp\/setup-packer@)[0-9a-f]{40}/, '$1c3d53c5')],
    ['other SHA', raw.replace(/(actions\/setup-node@)[0-9a-f]{40}/, `$1${'1'.repeat(40)}`)],
    ['no version comment', raw.replace(/(actions\/upload-artifact@[0-9a-f]{40}) # v4\.6\.2/, '$1')],
    ['unreviewed action', raw.replace('uses: actions/setup-node@', 'uses: evil/setup-node@')],
  ]
  for (const [what, text] of mutations) {
    t.not(text, raw, `mutated: ${what}`)
    t.not(pinProblems('bake.yml', text, parse(text) as Workflow).problems.length, 0, `caught: ${what}`)
  }
})

function perms(job: Job): Record<string, string> | string | undefined {
  return job.permissions
}

t.test('permissions: nothing by default, the least each job needs', async t => {
  const expected: Record<string, Record<string, Record<string, string>>> = {
    'bake.yml': {
      plan: {},
      'bake-qemu': { contents: 'read' },
      'bake-cloud': { contents: 'read', 'id-token': 'write' },
      publish: { contents: 'write', packages: 'write' },
    },
    'ci.yml': { test: { contents: 'read' } },
    'deadman.yml': {
      heartbeat: { actions: 'read' },
      sla: { contents: 'read' },
      alarm: { issues: 'write' },
      keepalive: { actions: 'write' },
    },
    'watch.yml': { watch: { contents: 'write', actions: 'write' } },
  }
  for (const { file, wf } of all) {
    const top = wf.permissions
    if (file === 'ci.yml') t.same(top, { contents: 'read' }, `${file}: read-only token at the top`)
    else t.same(top, {}, `${file}: no token permissions at the top level`)
    t.same(Object.keys(wf.jobs).sort(), Object.keys(expected[file] ?? {}).sort(), `${file}: the jobs`)
    for (const [jobId, job] of Object.entries(wf.jobs)) {
      t.same(perms(job), expected[file]?.[jobId], `${file} ${jobId}: permissions`)
    }
  }
  // id-token (OIDC) only where a cloud builder needs it
  const oidc = all.flatMap(({ file, wf }) => Object.entries(wf.jobs).filter(([, j]) => typeof j.permissions === 'object' && j.permissions['id-token']).map(([id]) => `${file}:${id}`))
  t.same(oidc, ['bake.yml:bake-cloud'])
  // pushing to the image store only where the image is pushed
  const packages = all.flatMap(({ file, wf }) => Object.entries(wf.jobs).filter(([, j]) => typeof j.permissions === 'object' && j.permissions.packages).map(([id]) => `${file}:${id}`))
  t.same(packages, ['bake.yml:publish'])
})

t.test('secrets only in the protected environment; cloud credentials by OIDC', async t => {
  const { wf } = get('bake.yml')
  for (const { file, wf } of all) {
    for (const [jobId, job] of Object.entries(wf.jobs)) {
      const text = JSON.stringify(job)
      const secrets = [...text.matchAll(/secrets\.([A-Za-z_][A-Za-z0-9_]*)/g)].map(m => m[1])
      if (secrets.length === 0) continue
      t.equal(job.environment, 'bake', `${file} ${jobId} uses ${secrets.join(', ')} only inside environment "bake"`)
    }
    t.notMatch(JSON.stringify(wf.env ?? {}), /secrets\./, `${file}: no secret in workflow-level env`)
  }
  const withEnv = Object.entries(wf.jobs).filter(([, j]) => j.environment).map(([id]) => id).sort()
  t.same(withEnv, ['bake-cloud', 'bake-qemu'], 'only the two bake jobs enter the environment')
  // the secret is handed to the bake step only, not to the whole job
  for (const jobId of ['bake-qemu', 'bake-cloud']) {
    const job = wf.jobs[jobId] as Job
    t.notMatch(JSON.stringify(job.env ?? {}), /secrets\./, `${jobId}: no secret in job env`)
    const holders = (job.steps ?? []).filter(s => JSON.stringify(s).includes('secrets.')).map(s => s.id)
    t.same(holders, ['bake'], `${jobId}: only the bake step sees AVOTS_API_KEY`)
    t.equal(step(wf, jobId, 'bake').env?.AVOTS_API_KEY, '${{ secrets.AVOTS_API_KEY }}')
  }
  const aws = step(wf, 'bake-cloud', 'AWS credentials (OIDC)')
  t.match(aws.uses, /^aws-actions\/configure-aws-credentials@/)
  t.ok(aws.with?.['role-to-assume'], 'assumes a role')
  t.notOk(aws.with?.['aws-access-key-id'] || aws.with?.['aws-secret-access-key'], 'no static AWS keys')
  t.notOk(JSON.stringify(wf.jobs['bake-qemu']).includes('configure-aws-credentials'), 'the qemu bake gets no cloud credentials')
  t.notOk(wf.jobs.publish?.environment, 'publish (contents: write) has no environment and no secrets')
  // checkouts in jobs that hold secrets or build do not leave the token in .git/config
  for (const jobId of ['bake-qemu', 'bake-cloud']) {
    const co = step(wf, jobId, 'Check out')
    t.equal(co.with?.['persist-credentials'], false, `${jobId}: checkout without persisted credentials`)
  }
})

t.test('bake.yml: inputs, on-call dispatch type, concurrency by tag that never cancels', async t => {
  const { wf } = get('bake.yml')
  const inputs = wf.on.workflow_dispatch?.inputs
  t.match(inputs.tag, { type: 'string', required: true })
  t.match(inputs.urgency, { type: 'choice', required: true })
  t.same(inputs.urgency.options, ['critical', 'routine'])
  t.match(inputs.force, { type: 'boolean', default: false })
  t.match(inputs.builder, { type: 'choice' })
  t.same(inputs.builder.options, ['qemu', 'amazon-ebs'])
  t.same(wf.on.repository_dispatch, { types: ['oncall-bake'] })
  t.same(Object.keys(wf.on).sort(), ['repository_dispatch', 'workflow_dispatch'])
  t.equal(wf.concurrency?.['cancel-in-progress'], false, 'an urgent bake is never cancelled')
  t.match(wf.concurrency?.group, /inputs\.tag/)
  t.match(wf.concurrency?.group, /github\.event\.client_payload\.tag/)
  t.notMatch(wf.concurrency?.group, /urgency|run_id/, 'keyed by tag only')
  const plan = JSON.stringify(wf.jobs.plan)
  for (const field of ['tag', 'urgency', 'reason']) t.ok(plan.includes(`github.event.client_payload.${field}`), `plan reads client_payload.${field}`)
  t.match(wf['run-name'], /inputs\.tag/, 'runs are named by tag (watch finds in-flight bakes by it)')
  t.match(wf['run-name'], /^bake \$\{\{/)
  // the README commands
  for (const jobId of ['bake-qemu', 'bake-cloud']) {
    const runs = (wf.jobs[jobId]?.steps ?? []).map(s => s.run ?? '').join('\n')
    t.match(runs, /^npm run setup$/m, `${jobId}: npm run setup`)
    t.match(runs, /npm run --silent bake -- "\$\{args\[@\]\}"/, `${jobId}: npm run bake -- --tag ...`)
    t.match(runs, /args=\(--tag "\$TAG" --builder "\$BUILDER" --json\)/)
    const packer = step(wf, jobId, 'Set up Packer ${{ env.PACKER_VERSION }}')
    t.equal(packer.with?.version, '${{ env.PACKER_VERSION }}')
    t.match(wf.env?.PACKER_VERSION, /^\d+\.\d+\.\d+$/, 'Packer at a pinned version, not latest')
    t.equal(wf.jobs[jobId]?.needs, 'plan')
    const uploads = (wf.jobs[jobId]?.steps ?? []).filter(s => s.uses?.startsWith('actions/upload-artifact@'))
    const paths = uploads.map(u => String(u.with?.path)).join('\n')
    t.match(paths, /gate-report\.json/, `${jobId}: uploads the gate report`)
    t.match(paths, /manifest/, `${jobId}: uploads the manifest`)
  }
  t.match(wf.jobs['bake-qemu']?.if, /builder == 'qemu'/)
  t.match(wf.jobs['bake-cloud']?.if, /builder == 'amazon-ebs'/)
})

t.test('no ${{ }} expression inside a run script (inputs reach scripts through env)', async t => {
  for (const { file, wf } of all) {
    for (const [jobId, job] of Object.entries(wf.jobs)) {
      for (const s of job.steps ?? []) {
        if (s.run) t.notMatch(s.run, /\$\{\{/, `${file} ${jobId} "${s.name}"`)
      }
    }
  }
})

interface Cron { minute: string; hour: string; dom: string; month: string; dow: string }
function parseCron(expr: string): Cron {
  const f = expr.trim().split(/\s+/)
  if (f.length !== 5) throw new Error(`cron "${expr}" needs 5 fields`)
  const [minute, hour, dom, month, dow] = f as [string, string, string, string, string]
  const field = (v: string, lo: number, hi: number) => {
    for (const part of v.split(',')) {
      const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part)
      if (!m) throw new Error(`cron "${expr}": bad field ${v}`)
      for (const n of [m[2], m[3]]) if (n !== undefined && (Number(n) < lo || Number(n) > hi)) throw new Error(`cron "${expr}": ${n} outside ${lo}-${hi}`)
    }
  }
  field(minute, 0, 59); field(hour, 0, 23); field(dom, 1, 31); field(month, 1, 12); field(dow, 0, 7)
  return { minute, hour, dom, month, dow }
}

t.test('schedules: valid cron, off the hour', async t => {
  const schedules = all.flatMap(({ file, wf }) => (wf.on.schedule ?? []).map((s: { cron: string }) => ({ file, cron: s.cron })))
  t.same(schedules.map(s => s.file).sort(), ['deadman.yml', 'watch.yml'])
  for (const { file, cron } of schedules) {
    const c = parseCron(cron)
    t.match(c.minute, /^\d+$/, `${file}: one fixed minute`)
    t.not(Number(c.minute), 0, `${file}: not at minute 0 (${cron})`)
  }
  const watch = parseCron(get('watch.yml').wf.on.schedule[0].cron)
  t.same([watch.hour, watch.dom, watch.month, watch.dow], ['*', '*', '*', '*'], 'watch runs every hour')
  t.throws(() => parseCron('99 * * * *'), /outside/, 'the cron check itself rejects a bad minute')
})

t.test('watch.yml: npx clawbake watch --json, dispatches bake.yml, summary and heartbeat', async t => {
  const { wf } = get('watch.yml')
  t.ok(wf.on.workflow_dispatch !== undefined, 'can be run by hand')
  const runs = (wf.jobs.watch?.steps ?? []).map(s => s.run ?? '').join('\n')
  t.match(runs, /npx clawbake watch --channel "\$CHANNEL" --json > watch\.json/)
  t.match(runs, /gh workflow run bake\.yml -f tag="\$tag" -f urgency="\$urgency" -f force=false -f builder="\$BUILDER"/)
  t.match(runs, /GITHUB_STEP_SUMMARY/)
  t.match(runs, /npx clawbake sla --markdown/)
  const heartbeat = (wf.jobs.watch?.steps ?? []).find(s => s.uses?.startsWith('actions/upload-artifact@'))
  t.equal(heartbeat?.with?.name, 'watch-heartbeat')
  t.equal(heartbeat?.if, 'always()')
  t.equal(wf.concurrency?.['cancel-in-progress'], false, 'a poll is never cancelled mid-commit')
  t.equal(step(wf, 'watch', 'watch').env?.GITHUB_TOKEN, '${{ github.token }}', 'authenticated API calls')
})

t.test('deadman.yml: dead man\'s switch over watch runs, SLA alarm, keep-alive', async t => {
  const { wf } = get('deadman.yml')
  const heartbeat = (wf.jobs.heartbeat?.steps ?? []).map(s => s.run ?? '').join('\n')
  t.match(heartbeat, /actions\/workflows\/watch\.yml\/runs\?event=schedule&status=success/)
  t.match(wf.env?.WATCH_MAX_SILENCE_HOURS, /vars\.WATCH_MAX_SILENCE_HOURS \|\| '\d+'/)
  t.match((wf.jobs.sla?.steps ?? []).map(s => s.run ?? '').join('\n'), /npx clawbake sla --open --fail-on-breach/)
  t.equal(wf.jobs.alarm?.if, 'failure()')
  t.same(wf.jobs.alarm?.needs, ['heartbeat', 'sla'])
  const keepalive = (wf.jobs.keepalive?.steps ?? []).map(s => s.run ?? '').join('\n')
  t.match(keepalive, /--method PUT "repos\/\$GH_REPO\/actions\/workflows\/\$workflow\/enable"/)
  t.match(keepalive, /for workflow in watch\.yml deadman\.yml/)
  // watch every hour, alarm after N hours: N must leave room for dropped runs
  const hours = Number(/'(\d+)'/.exec(wf.env?.WATCH_MAX_SILENCE_HOURS ?? '')?.[1])
  t.ok(hours >= 2 && hours <= 12, `silence limit ${hours} h`)
})

t.test('ci.yml: npm test on push and pull_request', async t => {
  const { wf } = get('ci.yml')
  t.same(Object.keys(wf.on).sort(), ['pull_request', 'push'])
  const runs = (wf.jobs.test?.steps ?? []).map(s => s.run).filter(Boolean)
  t.same(runs, ['npm test'])
})
