// Where things are. PACKAGE_ROOT holds clawbake's own code and schemas; the
// project root (Io.cwd, CLAWBAKE_ROOT) holds what a command reads and writes,
// so tests run commands against a temp copy of the tree.
import { homedir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const PACKAGE_ROOT = fileURLToPath(new URL('..', import.meta.url))
export const SCHEMA_DIR = join(PACKAGE_ROOT, 'schemas')

export interface ProjectPaths {
  root: string
  /** the artifacts that go into the image */
  files: string
  compose: string
  openclawConfig: string
  envExample: string
  cloudInit: string
  packerDir: string
  /** the pin record: tag, index digest, platforms */
  pinsLock: string
  changelog: string
  /** published catalog entries, release notes, time-to-patch records */
  catalog: string
  /** local, untracked state: ETag cache, bake lock, gate reports */
  state: string
}

export function projectPaths(root: string): ProjectPaths {
  const files = join(root, 'packer', 'files')
  return {
    root,
    files,
    compose: join(files, 'docker-compose.yml'),
    openclawConfig: join(files, 'openclaw.json'),
    envExample: join(files, '.env.example'),
    cloudInit: join(files, 'cloud-init.yaml'),
    packerDir: join(root, 'packer'),
    pinsLock: join(root, 'pins.lock.json'),
    changelog: join(root, 'CHANGELOG.md'),
    catalog: join(root, 'catalog'),
    state: join(root, '.clawbake'),
  }
}

/** Built things kept between runs (the OpenClaw CLIs, bake bases, rehearsal images): CLAWBAKE_CACHE, else ~/.cache/clawbake. */
export function cacheRoot(env: Record<string, string | undefined> = process.env): string {
  return env.CLAWBAKE_CACHE ? env.CLAWBAKE_CACHE : join(homedir(), '.cache', 'clawbake')
}
