// Run the real `clawbake verify --local --json` (bin/clawbake.js, the pinned
// openclaw from npm, real sshd) against the avots stand-in in a given mode.
import { startAvotsStandin, type AvotsMode, type AvotsStandin } from '../standins/avots.ts'
import { clawbake, type CliResult } from '../support/cli.ts'
import type { GateReport, GateResult } from '../../src/gates/gate.ts'

export interface VerifyRun {
  result: CliResult
  report: GateReport
  avots: AvotsStandin
  gate(id: string): GateResult
}

export async function verifyLocal(t: { teardown(fn: () => unknown): void }, mode: AvotsMode, args: string[] = [], opts: { cwd?: string } = {}): Promise<VerifyRun> {
  const avots = await startAvotsStandin({ mode })
  t.teardown(() => avots.close())
  const result = await clawbake(['verify', '--local', '--json', ...args], {
    cwd: opts.cwd ?? process.cwd(),
    env: { AVOTS_BASE_URL: avots.baseUrl, AVOTS_API_KEY: avots.apiKey, CLAWBAKE_ROOT: opts.cwd ?? process.cwd() },
  })
  let report: GateReport
  try {
    report = result.json<GateReport>()
  } catch {
    throw new Error(`verify printed no JSON report (exit ${result.code}):\n${result.stderr.slice(-3000)}`)
  }
  return {
    result,
    report,
    avots,
    gate(id) {
      const g = report.gates.find(x => x.id === id)
      if (!g) throw new Error(`gate ${id} not in the report`)
      return g
    },
  }
}

/** The nonce and state dir a run's owner-exec gate reports. */
export function ownerRun(g: GateResult): { nonce: string; stateDir: string } {
  const nonce = /run nonce ([0-9a-f]{16})\b/.exec(g.detail)?.[1] ?? ''
  const stateDir = /state dir (\S+)/.exec(g.detail)?.[1] ?? ''
  return { nonce, stateDir }
}
