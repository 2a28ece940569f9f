// `npm run bench -- watch`: request count and wall time of a cold poll over
// 500 releases and of the no-op poll after it, against the loopback GitHub
// stand-in; in-process (watchReleases) and through the real binary. Prints
// figures, asserts nothing.
import { cpSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { spawnSync } from 'node:child_process'
import { watchReleases } from '../src/watch/watch.ts'
import { startGithubStandin, type ReleaseSeed } from '../test/standins/github.ts'

const REPO = fileURLToPath(new URL('..', import.meta.url))
const BIN = join(REPO, 'bin', 'clawbake.js')
const N = 500

// 500 releases: 16 months of trains with betas and corrections, the pin's 2026.9.6 among them.
const seeds: ReleaseSeed[] = []
for (let m = 0; seeds.length < N - 2; m++) {
  const year = 2026 + Math.floor(m / 12)
  const month = 1 + (m % 12)
  for (let p = 1; p <= 30 && seeds.length < N - 2; p++) {
    seeds.push({ tag_name: `v${year}.${month}.${p}${p % 10 === 3 ? '-beta.1' : ''}`, prerelease: p % 10 === 3 })
  }
}
seeds.push({ tag_name: 'v2026.9.6' }, { tag_name: 'v2027.4.1-1' })

function tree(): string {
  const dir = mkdtempSync(join(tmpdir(), 'clawbake-bench-watch-'))
  cpSync(join(REPO, 'pins.lock.json'), join(dir, 'pins.lock.json'))
  return dir
}

const gh = await startGithubStandin()
gh.setReleases(seeds)
const env = { GITHUB_API_URL: gh.url }
const rows: string[] = []
const dirs: string[] = []
try {
  const root = tree()
  dirs.push(root)
  for (const label of ['cold poll (in-process)', 'no-op poll (in-process)']) {
    gh.requests.length = 0
    const t0 = performance.now()
    const r = await watchReleases({ root, env, now: new Date(), channel: 'stable' })
    const ms = performance.now() - t0
    const statuses = gh.requests.map(q => q.status).join(',')
    rows.push(`${label.padEnd(26)} ${String(gh.requests.length).padStart(2)} request(s) [${statuses}]  ${ms.toFixed(1).padStart(7)} ms  -> ${r.action} ${r.latest?.tag} ${r.urgency}`)
  }
  const cliRoot = tree()
  dirs.push(cliRoot)
  for (const label of ['cold poll (clawbake CLI)', 'no-op poll (clawbake CLI)']) {
    gh.requests.length = 0
    const t0 = performance.now()
    const p = spawnSync(process.execPath, [BIN, 'watch', '--json'], { cwd: cliRoot, env: { ...process.env, ...env, CLAWBAKE_ROOT: cliRoot, GITHUB_TOKEN: '' }, encoding: 'utf8' })
    const ms = performance.now() - t0
    const statuses = gh.requests.map(q => q.status).join(',')
    const doc = p.status === 0 ? JSON.parse(p.stdout) : { action: `exit ${p.status}` }
    rows.push(`${label.padEnd(26)} ${String(gh.requests.length).padStart(2)} request(s) [${statuses}]  ${ms.toFixed(1).padStart(7)} ms  -> ${doc.action} ${doc.latest?.tag ?? ''} ${doc.urgency ?? ''}`)
  }
} finally {
  await gh.close()
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
}
process.stdout.write(`watch over ${N} releases (stand-in on 127.0.0.1, 100 per page)\n${rows.join('\n')}\n`)
