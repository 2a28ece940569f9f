// The VM gate bundle: src/bake/vm-gates.ts + the gate suite, bundled by the
// real esbuild into ONE ES module that the node inside the pinned OpenClaw
// image can run with nothing installed.
import t from 'tap'
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { bundleGates } from '../../src/bake/bundle.ts'
import { REPO } from '../support/tree.ts'

const run = promisify(execFile)

t.test('bundle of the gate suite for the VM', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'clawbake-bundle-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const out = join(dir, 'gates.mjs')
  if (!existsSync(join(REPO, 'src', 'gates', 'suite.ts'))) {
    // until issue 5's suite lands, the bake says exactly what is missing
    await t.rejects(bundleGates(out), { name: 'ClawbakeError', rule: 'bake.gate-bundle', exitCode: 2, message: /suite\.ts/ })
    return
  }
  const b = await bundleGates(out)
  t.ok(b.bytes > 1000)
  const text = readFileSync(out, 'utf8')
  const imports = [...text.matchAll(/^import .* from ["']([^"']+)["']/gm)].map(m => m[1])
  t.ok(imports.every(s => s?.startsWith('node:') || !s?.startsWith('.')), `only node: builtins or packages, no local files: ${imports.join(', ')}`)
  await run(process.execPath, ['--check', out])
  const usage = await run(process.execPath, [out]).then(() => 0, e => e.code)
  t.equal(usage, 2, 'runs, and asks for --out/--status')
})
