// The VM gate bundle: src/bake/vm-gates.ts + the gate suite, bundled by the
// real esbuild into ONE ES module that the node inside the pinned OpenClaw
// image can run with nothing installed.
import t from 'tap'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { bundleGates } from '../../src/bake/bundle.ts'
import { REPO } from '../support/tree.ts'
import { run, runOk } from '../../src/proc/run.ts'


t.test('bundle of the gate suite for the VM', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'clawbake-bundle-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const b = await bundleGates(dir)
  const out = join(dir, 'lib', 'gates.mjs')
  t.equal(b.file, out)
  t.ok(b.bytes > 1000)
  const text = readFileSync(out, 'utf8')
  const imports = [...text.matchAll(/^import .* from ["']([^"']+)["']/gm)].map(m => m[1])
  t.ok(imports.every(s => s?.startsWith('node:') || !s?.startsWith('.')), `only node: builtins or packages, no local files: ${imports.join(', ')}`)
  await runOk(process.execPath, ['--check', out])
  const usage = (await run(process.execPath, [out])).code
  t.equal(usage, 2, 'runs, and asks for --out/--status')
})

t.test('the bundle, run from its own directory, finds its schemas and reads the pin record', async t => {
  // a bundle that looked for schemas/ beside itself stopped at once with ENOENT on pins-lock.schema.json in the VM
  const dir = mkdtempSync(join(tmpdir(), 'clawbake-bundle-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  await bundleGates(join(dir, 'gates'))
  const report = join(dir, 'report.json')
  const status = join(dir, 'status')
  // no Docker on this machine: the suite gets past the pin record and the shipped config, then stops at docker compose
  const { code } = await run(process.execPath, [join(dir, 'gates', 'lib', 'gates.mjs'), '--out', report, '--status', status], {
    env: { PATH: process.env.PATH, CLAWBAKE_ROOT: REPO, AVOTS_API_KEY: 'sk-bundle-test-000000', CLAWBAKE_COMPOSE_FILE: join(dir, 'none.yml') },
  })
  t.equal(code, 1)
  const said = readFileSync(status, 'utf8')
  t.notMatch(said, /ENOENT|schema/i, `no schema error: ${said}`)
  t.match(said, /^failed: gate-runner \(.*(docker compose|docker-compose\.yml|none\.yml)/, said)
})
