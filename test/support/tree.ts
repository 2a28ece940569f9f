// A temp copy of the project tree (packer/, pins.lock.json, CHANGELOG.md, ...)
// so that commands which write can be run against it and compared byte for byte.
import { cpSync, mkdtempSync, rmSync, existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

export const REPO = fileURLToPath(new URL('../..', import.meta.url))

export function tempTree(t: { teardown(fn: () => void): void }, entries = ['packer', 'pins.lock.json', 'CHANGELOG.md', 'catalog']): string {
  const dir = mkdtempSync(join(tmpdir(), 'clawbake-tree-'))
  for (const e of entries) {
    if (existsSync(join(REPO, e))) cpSync(join(REPO, e), join(dir, e), { recursive: true })
  }
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/**
 * path (relative to root) -> bytes (latin1) of every file under root, to prove
 * that a command wrote nothing (no temp file either) or which files it changed.
 */
export function snapshotTree(root: string): Map<string, string> {
  const out = new Map<string, string>()
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name)
      if (statSync(p).isDirectory()) walk(p)
      else out.set(relative(root, p), readFileSync(p, 'latin1'))
    }
  }
  walk(root)
  return out
}
