// Atomic file replacement, the one way clawbake writes a file: a temp file in
// the same directory, fsync'd, renamed over the target. A reader sees the old
// bytes or the new, never half; a failed write leaves no temp file behind.
// An existing file keeps its mode.
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { randomBytes } from 'node:crypto'

export function writeFileAtomic(file: string, content: string, mode?: number): void {
  const dir = dirname(file)
  mkdirSync(dir, { recursive: true })
  let fileMode = mode ?? 0o644
  if (mode === undefined) {
    try {
      fileMode = statSync(file).mode & 0o777
    } catch { /* new file */ }
  }
  const tmp = join(dir, `.${basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)
  try {
    const fd = openSync(tmp, 'wx', fileMode)
    try {
      writeSync(fd, content)
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    renameSync(tmp, file)
  } catch (e) {
    rmSync(tmp, { force: true })
    throw e
  }
}

export function writeJsonAtomic(file: string, value: unknown): void {
  writeFileAtomic(file, JSON.stringify(value, null, 2) + '\n')
}

/**
 * Put a file written elsewhere (a download, in the target's directory) in
 * place the same way: fsync'd, renamed over the target, the directory
 * fsync'd, so a crash leaves the old file or the new one.
 */
export function commitFileAtomic(tmp: string, file: string): void {
  const fd = openSync(tmp, 'r+')
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  renameSync(tmp, file)
  const dir = openSync(dirname(file), 'r')
  try {
    fsyncSync(dir)
  } finally {
    closeSync(dir)
  }
}
