// Host times of a gate run. The gates time themselves where they run: in the
// build VM that is the guest's clock, which under the instruction clock runs
// at the pace of the instructions the guest executes, not at the host's. So
// the bake stamps, on this machine's clock, when the gate run started and when
// each gate's result line reached it, and the report of record (the catalog's)
// carries those host times beside the gates' own durations.
import { isGateId, type GateReport, type GuestClock } from '../gates/gate.ts'

/**
 * `verify (vm): ...` (the run started) and `ok   <id> (12.3 s): ...` / `FAIL <id> (...)`, as the gate suite logs them
 * (in the build VM behind `gates: `, on this machine for the null builder behind Packer's own prefix)
 */
const START = /(?:^|[\s:])verify \((?:vm|local)\): /
const RESULT = /(?:^|[\s:])(?:ok {2}|FAIL) ([a-z0-9][a-z0-9-]*) \([\d.]+ s\): /

export interface GateStamps {
  /** host time (ms since the epoch) the gate run's first line arrived */
  startedAt: number | null
  /** gate id -> host time its result line arrived */
  results: Map<string, number>
}

/** Watches the build's progress lines and stamps the gate run's lines with the host's clock. */
export function gateStamper(now: () => number = Date.now): { observe(line: string): void; stamps: GateStamps } {
  const stamps: GateStamps = { startedAt: null, results: new Map() }
  return {
    stamps,
    observe(line: string) {
      if (stamps.startedAt === null && START.test(line)) stamps.startedAt = now()
      const id = RESULT.exec(line)?.[1]
      if (id && isGateId(id) && !stamps.results.has(id)) stamps.results.set(id, now())
    },
  }
}

/**
 * The report with the host's times: each gate's `hostAt` (when its result reached this machine) and the run's
 * `host` span with the guest clock it ran under. `ms` stays the gate's own duration on the clock where it ran.
 * Without stamps (no line was seen) the report is returned as it is.
 */
export function withHostTimes(report: GateReport, stamps: GateStamps, guestClock: GuestClock): GateReport {
  if (stamps.results.size === 0) return report
  const iso = (t: number) => new Date(t).toISOString()
  const ends = [...stamps.results.values()]
  const startedAt = stamps.startedAt ?? Math.min(...ends)
  return {
    ...report,
    host: { startedAt: iso(startedAt), finishedAt: iso(Math.max(...ends)), guestClock },
    gates: report.gates.map(g => {
      const t = stamps.results.get(g.id)
      return t === undefined ? g : { ...g, hostAt: iso(t) }
    }),
  }
}
