// The workflows pass a real workflow linter, and that linter really rejects
// broken workflows (so a pass means something). The linter is
// @action-validator/cli (mpalmer/action-validator: JSON-schema validation of
// the workflow plus checks such as unresolved `needs` and glob patterns).
// The step scripts pass shellcheck.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { REPO, WORKFLOWS, loadWorkflow, runScripts, tempDir, workflowFiles } from './workflow.ts'

const VALIDATOR = join(REPO, 'node_modules', '.bin', 'action-validator')

function validate(file: string): { code: number; output: string } {
  const r = spawnSync(process.execPath, [VALIDATOR, file], { encoding: 'utf8' })
  return { code: r.status ?? 2, output: `${r.stdout}${r.stderr}` }
}

t.test('the workflows are the ones this issue ships', async t => {
  t.same(workflowFiles(), ['bake.yml', 'ci.yml', 'deadman.yml', 'watch.yml'])
})

for (const f of workflowFiles()) {
  t.test(`action-validator accepts ${f}`, async t => {
    const r = validate(join(WORKFLOWS, f))
    t.equal(r.code, 0, r.output)
  })
}

t.test('action-validator rejects broken workflows (it is a real linter)', async t => {
  const dir = tempDir(t)
  const { raw } = loadWorkflow('bake.yml')
  const cases: [string, string, RegExp][] = [
    ['misspelled runs-on', raw.replace('runs-on: ubuntu-24.04\n    timeout-minutes: 5', 'runs-onn: ubuntu-24.04\n    timeout-minutes: 5'), /runs-onn|runs-on/],
    ['needs a job that does not exist', raw.replace('needs: [plan, bake-qemu, bake-cloud]', 'needs: [plan, bake-qemu, bake-kvm]'), /bake-kvm/],
    ['unknown permission level', raw.replace('contents: write # push', 'contents: writ # push'), /permissions|contents|enum/i],
    ['input of an unknown type', raw.replace('type: boolean', 'type: bool'), /type|enum|inputs/i],
    ['unknown trigger', raw.replace('repository_dispatch:', 'repository_dispatches:'), /repository_dispatch|on/i],
  ]
  for (const [what, text, mention] of cases) {
    t.not(text, raw, `mutation applied: ${what}`)
    const file = join(dir, `broken-${what.replace(/\W+/g, '-')}.yml`)
    writeFileSync(file, text)
    const r = validate(file)
    t.equal(r.code, 1, `rejected: ${what}`)
    t.match(r.output, mention, `names the problem: ${what}`)
  }
})

t.test('every run script passes shellcheck', async t => {
  const dir = tempDir(t)
  let n = 0
  for (const f of workflowFiles()) {
    for (const s of runScripts(loadWorkflow(f).wf)) {
      // GitHub runs `shell: bash` as `bash --noprofile --norc -eo pipefail {0}`.
      const file = join(dir, `${f}-${s.job}-${n++}.sh`)
      writeFileSync(file, `#!/usr/bin/env bash\nset -eo pipefail\n${s.run}`)
      const r = spawnSync('shellcheck', ['-s', 'bash', '-S', 'style', file], { encoding: 'utf8' })
      t.equal(r.status, 0, `${f} ${s.job} "${s.step}"\n${r.stdout}${r.stderr}`)
    }
  }
  t.ok(n >= 15, `checked ${n} scripts`)
  // and shellcheck does fail on a bad script
  const bad = join(dir, 'bad.sh')
  writeFileSync(bad, '#!/usr/bin/env bash\nrm -rf $DIR/*\n')
  t.not(spawnSync('shellcheck', ['-s', 'bash', bad]).status, 0, 'shellcheck flags an unquoted expansion')
})
