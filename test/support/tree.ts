// A temp copy of the project tree (packer/, pins.lock.json, CHANGELOG.md, ...)
// so that commands which write can be run against it and compared byte for byte.
import { cpSync, mkdtempSync, rmSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
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
