// Atomic file replacement: write a temp file in the same directory, fsync,
// rename over the target. A reader sees the old bytes or the new, never half.
import { closeSync, fsyncSync, openSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { randomBytes } from 'node:crypto'

export function writeFileAtomic(file: string, content: string): void {
  let mode = 0o644
  try {
    mode = statSync(file).mode & 0o777
  } catch { /* new file */ }
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)
  const fd = openSync(tmp, 'wx', mode)
  try {
    writeSync(fd, content)
    fsyncSync(fd)
    closeSync(fd)
    renameSync(tmp, file)
  } catch (e) {
    try { closeSync(fd) } catch { /* closed */ }
    try { unlinkSync(tmp) } catch { /* gone */ }
    throw e
  }
}
