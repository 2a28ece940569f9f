// Ctrl-C and SIGTERM for a command that runs VMs: the first signal aborts (the
// command stops what it started by PID and reports), a second one exits at once.
import type { Io } from '../io.ts'

/** How long an interrupted command may linger after it reported, before it exits anyway. */
export const EXIT_AFTER_INTERRUPT_MS = 10_000

export interface StopSignals {
  signal: AbortSignal
  /** stop listening (the command is done) */
  release(): void
}

export function stopOnSignals(io: Io, say: (sig: NodeJS.Signals) => string): StopSignals {
  const abort = new AbortController()
  const onSignal = (sig: NodeJS.Signals) => {
    if (abort.signal.aborted) process.exit(130)
    io.err(say(sig) + '\n')
    abort.abort()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  return {
    signal: abort.signal,
    release() {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
      // interrupted: what was stopped by PID may leave a wait behind (a poll of a VM that is gone);
      // the command has reported, so it exits even if such a wait would keep it alive
      if (abort.signal.aborted) setTimeout(() => process.exit(), EXIT_AFTER_INTERRUPT_MS).unref()
    },
  }
}
