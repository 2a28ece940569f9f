// OpenClaw's state-lease start limit. Every lease holder (the gateway, doctor,
// security audit) starts a heartbeat worker thread that must be ready within
// a fixed 5 s (LEASE_HEARTBEAT_START_TIMEOUT_MS in OpenClaw 2026.9.x, not
// configurable). On a slow CPU (software emulation: TCG) loading that worker
// alone takes 5-8 s, so a first start can lose it; the half-done first start
// then leaves a state database that every later start refuses. Waiting longer
// for such a gateway cannot help: this names it, so the gates stop waiting and
// say why.
import { readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { run } from '../proc/run.ts'

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

/** A release's fixed lease start, as its own files say it: the constant and where it is. */
export interface LeaseStartDeadline {
  ms: number
  file: string
}

const DEADLINE_RE = /LEASE_HEARTBEAT_START_TIMEOUT_MS\s*=\s*([0-9][0-9_.e]*)/

/** The fixed state-lease start of an installed OpenClaw (its dist/), or null when that release has none. */
export async function leaseStartDeadline(packageDir: string): Promise<LeaseStartDeadline | null> {
  const dist = join(packageDir, 'dist')
  const r = await run('grep', ['-rlE', '--include=*.js', '--include=*.mjs', 'LEASE_HEARTBEAT_START_TIMEOUT_MS\\s*=', dist])
  const file = r.stdout.trim().split('\n').filter(Boolean).sort()[0]
  if (!file) return null
  const m = DEADLINE_RE.exec(readFileSync(file, 'utf8'))
  const ms = Number((m?.[1] ?? '').replace(/_/g, ''))
  return Number.isFinite(ms) && ms > 0 ? { ms, file: relative(packageDir, file) } : null
}

