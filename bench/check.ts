// `clawbake check` wall time on the shipped files: cold (no upstream-schema
// cache: `openclaw config schema`, ajv compile, standalone code written) and
// warm (cached validator loaded from disk). Each run is a fresh process, the
// way an operator or the bake runs it. Prints figures, asserts nothing.
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { run } from '../src/proc/run.ts'

const repo = fileURLToPath(new URL('..', import.meta.url))
const bin = join(repo, 'bin', 'clawbake.js')
const cache = mkdtempSync(join(tmpdir(), 'clawbake-bench-cache-'))
const openclawCache = join(process.env.CLAWBAKE_CACHE ?? join(process.env.HOME ?? '/root', '.cache', 'clawbake'), 'openclaw')
// reuse the installed OpenClaw CLI, but start with an empty schema cache
symlinkSync(openclawCache, join(cache, 'openclaw'))

async function once(label: string): Promise<number> {
  const t0 = process.hrtime.bigint()
  const r = await run(process.execPath, [bin, 'check', '--json'], { cwd: repo, env: { ...process.env, CLAWBAKE_ROOT: repo, CLAWBAKE_CACHE: cache } })
  const ms = Number(process.hrtime.bigint() - t0) / 1e6
  const ok = r.code === 0 ? 'ok' : `exit ${r.code}`
  process.stdout.write(`check ${label.padEnd(28)} ${(ms / 1000).toFixed(2).padStart(7)} s  (${ok})\n`)
  return ms
}

try {
  await once('cold (no schema cache)')
  const warm = [await once('warm #1'), await once('warm #2'), await once('warm #3')].sort((a, b) => a - b)
  process.stdout.write(`check warm median              ${(warm[1]! / 1000).toFixed(2).padStart(7)} s\n`)
} finally {
  rmSync(cache, { recursive: true, force: true })
}
