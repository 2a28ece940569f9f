// A guest kernel that panics never answers again, yet qemu and the SSH
// forward of its user networking stay up: a wait on the guest (Packer's
// provisioner over SSH, the boot test's checks) would hang until its own
// timeout, or for ever. So whoever boots a guest watches its serial console
// (`-serial file:`) for the kernel's own words and stops at once, with them.
import { existsSync, openSync, readSync, closeSync, statSync } from 'node:fs'

/** How often a guest's serial console is read for a kernel panic. */
export const SERIAL_WATCH_MS = 2000

/** The kernel's last words: a panic (an oops in an interrupt, a double fault, an out-of-memory panic, ...). */
const PANIC = /Kernel panic - not syncing[^\n]*/

/** Where the kernel's account of the crash begins: the first oops-like line before the panic. */
const FIRST = /(traps: PANIC|Oops:|BUG:|general protection fault|kernel BUG at|Out of memory)/

export interface GuestPanic {
  /** the panic line, e.g. `Kernel panic - not syncing: Fatal exception in interrupt` */
  reason: string
  /** the kernel's account: from its first oops-like line, else the 8 lines before the panic (at most `lines` lines), ANSI and CRs removed */
  evidence: string
}

/** The panic in a serial console text, or null. */
export function findPanic(text: string, lines = 24): GuestPanic | null {
  const clean = text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '')
  const m = PANIC.exec(clean)
  if (!m) return null
  const all = clean.slice(0, m.index + m[0].length).split('\n')
  // from the first oops-like line of the crash; without one (a panic on its own: no root fs, ...) the lines before it
  let from = Math.max(0, all.length - 9)
  for (let i = all.length - 1; i >= 0 && i >= all.length - 200; i--) if (FIRST.test(all[i] ?? '')) from = i
  const account = all.slice(from).map(l => l.trim()).filter(Boolean)
  const kept = account.length > lines ? [...account.slice(0, lines - 1), account.at(-1) as string] : account
  return { reason: m[0].replace(/^.*?(Kernel panic)/, '$1').trim(), evidence: kept.join(' | ') }
}

/**
 * Polls `file` (a growing serial log) and calls `onPanic` once when the kernel panics. Reads only what was
 * appended since the last look (plus a margin, so a line split across two looks is still seen).
 */
export function watchSerial(file: string, onPanic: (p: GuestPanic) => void, everyMs = SERIAL_WATCH_MS): { stop(): void } {
  let offset = 0
  let seen = ''
  let done = false
  const look = () => {
    if (done || !existsSync(file)) return
    const size = statSync(file).size
    if (size < offset) { offset = 0; seen = '' } // a new boot truncated it
    if (size === offset) return
    const fd = openSync(file, 'r')
    try {
      const buf = Buffer.alloc(size - offset)
      readSync(fd, buf, 0, buf.length, offset)
      offset = size
      // keep the tail of what came before: the account of a crash starts before its panic line
      seen = (seen + buf.toString('utf8')).slice(-64 * 1024)
    } finally {
      closeSync(fd)
    }
    const p = findPanic(seen)
    if (p) {
      done = true
      clearInterval(timer)
      onPanic(p)
    }
  }
  const timer = setInterval(look, everyMs)
  timer.unref()
  return {
    stop() {
      if (!done) look()
      done = true
      clearInterval(timer)
    },
  }
}

/**
 * Runs `body` (something that waits on the guest: Packer's build) with an abort signal that also fires when the
 * guest's kernel panics; returns its result and the panic, if there was one.
 */
export async function untilPanic<T>(serialLog: string, signal: AbortSignal | undefined, body: (signal: AbortSignal) => Promise<T>, onPanic?: (p: GuestPanic) => void, everyMs = SERIAL_WATCH_MS): Promise<{ value: T; panic: GuestPanic | null }> {
  let panic: GuestPanic | null = null
  const stop = new AbortController()
  const watch = watchSerial(serialLog, p => {
    panic = p
    onPanic?.(p)
    stop.abort()
  }, everyMs)
  try {
    const value = await body(signal ? AbortSignal.any([signal, stop.signal]) : stop.signal)
    return { value, panic }
  } finally {
    watch.stop()
  }
}
