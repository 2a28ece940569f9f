// Entry point of the gate bundle that runs INSIDE the build VM (packer/scripts/
// gates.sh starts it on the VM host with the node binary copied out of the
// pinned OpenClaw image):
//   node gates.mjs --out <report.json> --status <status-file>
// Runs the gate suite in 'vm' mode against CLAWBAKE_ROOT (the laid-down
// packer/files), writes the report, and a one-line status file that
// packer/scripts/verdict.sh reads: `passed` or `failed: <gate ids>`.
import { writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import type { GateOptions, GateReport, GateResult } from './contract.ts'
import { runGates as suiteRunGates } from '../gates/suite.ts'

// the contract's signature, checked here once the module exists
const runGates: (opts: GateOptions) => Promise<GateReport> = suiteRunGates

const { values } = parseArgs({ options: { out: { type: 'string' }, status: { type: 'string' } }, strict: true })
const out = values.out
const status = values.status
if (!out || !status) {
  process.stderr.write('usage: node gates.mjs --out <report.json> --status <status-file>\n')
  process.exit(2)
}
const only = (process.env.GATE_IDS ?? '').split(',').map(s => s.trim()).filter(Boolean)
try {
  const report = await runGates({
    mode: 'vm',
    root: process.env.CLAWBAKE_ROOT ?? '/var/lib/clawbake/gates/tree',
    env: process.env,
    ...(only.length ? { only } : {}),
    log: (line: string) => process.stderr.write(`gates: ${line}\n`),
  })
  writeFileSync(out, JSON.stringify(report, null, 2) + '\n')
  const failed = report.gates.filter((g: GateResult) => !g.ok).map((g: GateResult) => g.id)
  const missing = only.filter(id => !report.gates.some((g: GateResult) => g.id === id))
  writeFileSync(status, report.ok && !failed.length && !missing.length ? 'passed\n' : `failed: ${[...failed, ...missing.map(m => `${m} (did not run)`)].join(', ') || 'report ok=false'}\n`)
  process.exit(0)
} catch (e) {
  writeFileSync(status, `failed: gate-runner (${String((e as Error)?.message ?? e).split('\n')[0]})\n`)
  process.exit(1)
}
