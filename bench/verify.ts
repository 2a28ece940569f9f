// Wall time of the whole local gate suite (`clawbake verify --local`) and of
// each gate, against the tool-calling avots stand-in, the pinned openclaw
// from npm and a real sshd sandbox. Target: under 60 s on 2 cores.
// Prints figures; never asserts timings.
import { cpus, loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import { run } from '../src/proc/run.ts'
import { startAvotsStandin } from '../test/standins/avots.ts'

const root = fileURLToPath(new URL('..', import.meta.url))
const bin = fileURLToPath(new URL('../bin/clawbake.js', import.meta.url))
const avots = await startAvotsStandin({ mode: 'tool' })
const load = loadavg()[0]!.toFixed(2)
const t0 = performance.now()
const r = await run(process.execPath, [bin, 'verify', '--local', '--json'], {
  cwd: root,
  env: { ...process.env, CLAWBAKE_ROOT: root, AVOTS_BASE_URL: avots.baseUrl, AVOTS_API_KEY: avots.apiKey },
})
const { stdout, stderr } = r
const code = r.code ?? 2
const wall = performance.now() - t0
await avots.close()
let report: { ok: boolean; openclawVersion: string; gates: { id: string; ok: boolean; ms: number }[] }
try {
  report = JSON.parse(stdout)
} catch {
  process.stdout.write(`verify printed no report (exit ${code}):\n${stderr.slice(-2000)}\n`)
  process.exit(1)
}
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`
process.stdout.write(`clawbake verify --local (openclaw ${report.openclawVersion}, ${cpus().length} cores, load ${load} at start): exit ${code}, wall ${s(wall)} (target < 60 s)\n`)
for (const g of report.gates) process.stdout.write(`  ${g.id.padEnd(17)} ${s(g.ms).padStart(7)}  ${g.ok ? 'ok' : 'FAIL'}\n`)
const ready = /gateway ready after ([\d.]+) s/.exec(stderr)?.[1]
if (ready) process.stdout.write(`  (gateway ready ${ready} s after it was started)\n`)
process.exit(code === 0 ? 0 : 1)
