// One bake at a time per work tree: <root>/.clawbake/bake.lock holds the pid,
// host and start time of the bake that owns it. Created with O_EXCL; a lock
// whose process is gone (same host) is stale and taken over, loudly.
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs'
import { hostname } from 'node:os'
import { dirname, join } from 'node:path'
import { ClawbakeError } from '../errors.ts'

export interface LockOwner {
  pid: number
  host: string
  startedAt: string
  tag: string
}

export interface BakeLock {
  file: string
  /** set when a stale lock was taken over */
  replaced: LockOwner | null
  release(): void
}

export function lockFile(root: string): string {
  return join(root, '.clawbake', 'bake.lock')
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function readOwner(file: string): LockOwner | null {
  try {
    const v = JSON.parse(readFileSync(file, 'utf8')) as Partial<LockOwner>
    if (typeof v.pid === 'number' && typeof v.host === 'string') return { pid: v.pid, host: v.host, startedAt: String(v.startedAt ?? ''), tag: String(v.tag ?? '') }
  } catch { /* unreadable = half-written or corrupt: treated as stale below */ }
  return null
}

export function acquireBakeLock(root: string, owner: { tag: string; now: Date; pid?: number }): BakeLock {
  const file = lockFile(root)
  mkdirSync(dirname(file), { recursive: true })
  const me: LockOwner = { pid: owner.pid ?? process.pid, host: hostname(), startedAt: owner.now.toISOString(), tag: owner.tag }
  let replaced: LockOwner | null = null
  for (let attempt = 0; attempt < 2; attempt++) {
    let fd: number
    try {
      fd = openSync(file, 'wx', 0o644)
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
      const held = readOwner(file)
      if (held && (held.host !== me.host || alive(held.pid))) {
        throw new ClawbakeError(
          `another bake is running (pid ${held.pid} on ${held.host}, tag ${held.tag}, since ${held.startedAt}); wait for it, or remove the lock if that process is gone`,
          { file, rule: 'bake.locked' },
          2,
        )
      }
      replaced = held ?? { pid: 0, host: me.host, startedAt: '', tag: '' }
      rmSync(file, { force: true })
      continue
    }
    writeSync(fd, JSON.stringify(me) + '\n')
    closeSync(fd)
    let released = false
    return {
      file,
      replaced,
      release() {
        if (released) return
        released = true
        const now = readOwner(file)
        if (now && now.pid === me.pid && now.host === me.host) rmSync(file, { force: true })
      },
    }
  }
  throw new ClawbakeError('could not take the bake lock (it keeps reappearing)', { file, rule: 'bake.locked' }, 2)
}
