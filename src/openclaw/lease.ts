// OpenClaw's state-lease start limit. Every lease holder (the gateway, doctor,
// security audit) starts a heartbeat worker thread that must be ready within
// a fixed 5 s (LEASE_HEARTBEAT_START_TIMEOUT_MS in OpenClaw 2026.9.x, not
// configurable). On a slow CPU (software emulation: TCG) loading that worker
// alone takes 5-8 s, so a first start can lose it; the half-done first start
// then leaves a state database that every later start refuses. Waiting longer
// for such a gateway cannot help: this names it, so the gates stop waiting and
// say why.

/** What OpenClaw logs when its heartbeat worker missed the 5 s. */
export const LEASE_START_LOST_TEXT = 'state lease heartbeat did not become ready'
const LEASE_START_LOST = new RegExp(`${LEASE_START_LOST_TEXT}[^\\n]*`)

/** How many restarts after a lost lease show the state is stuck (Docker's `unless-stopped` restarts it). */
export const STUCK_AFTER_RESTARTS = 2

/**
 * Why a gateway that is not healthy will not become so, or null: its log has
 * the lost lease start and Docker has restarted it `STUCK_AFTER_RESTARTS`
 * times since without it coming up.
 */
export function leaseStartStuck(log: string, restarts: number): string | null {
  const lost = log.match(LEASE_START_LOST)
  if (!lost || restarts < STUCK_AFTER_RESTARTS) return null
  return `OpenClaw's state lease heartbeat did not start within its fixed 5 s (${lost[0].slice(0, 400)}) and ${restarts} restarts since did not bring the gateway up: a CPU this slow (software emulation) cannot start this OpenClaw; waiting longer cannot help`
}

/** A gate's words for a lease OpenClaw lost (its heartbeat missed the start, or a held lease expired). */
const LEASE_LOST = new RegExp(`${LEASE_START_LOST_TEXT}|\\blease\\b[^\\n|]{0,160}\\bwas lost\\b|\\blease was lost\\b`)
/** What a lost first start leaves behind for the commands after it. */
const LEFT_UNMIGRATED = /requires (schema |state )?migration|migration lease/

/**
 * True when failed gates are explained by OpenClaw's lease start limit: at
 * least one says a lease was lost, and every other one says so too or names
 * the unmigrated state such a start leaves behind.
 */
export function failedOnLeaseLimit(failed: readonly { detail: string }[]): boolean {
  return failed.some(g => LEASE_LOST.test(g.detail)) && failed.every(g => LEASE_LOST.test(g.detail) || LEFT_UNMIGRATED.test(g.detail))
}
