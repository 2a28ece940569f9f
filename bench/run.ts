// `npm run bench`: runs every bench/*.ts (but this one) in turn with Node 24;
// each prints its own figures. Benchmarks measure; they never assert timings.
import { readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { run } from '../src/proc/run.ts'

const dir = fileURLToPath(new URL('.', import.meta.url))
const only = process.argv.slice(2)
let failed = 0
for (const f of readdirSync(dir).filter(f => f.endsWith('.ts') && f !== 'run.ts').sort()) {
  if (only.length && !only.some(o => f.startsWith(o))) continue
  process.stdout.write(`\n== bench/${f}\n`)
  const r = await run(process.execPath, [join(dir, f)], { onLine: (line, stream) => { process[stream].write(line + '\n') } })
  if (r.code !== 0) {
    failed++
    process.stdout.write(`bench/${f} exited ${r.code}\n`)
  }
}
process.exit(failed ? 1 : 0)
