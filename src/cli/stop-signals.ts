// Ctrl-C and SIGTERM for a command that runs VMs: the first signal aborts (the
// command stops what it started by PID and reports), a second one exits at once.
import type { Io } from '../io.ts'

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
    },
  }
}
