// `npm run bench -- watch`: request count and wall time of a cold poll over
// 500 releases and of the no-op poll after it, against the loopback GitHub
// stand-in; in-process (watchReleases) and through the real binary. Prints
// figures, asserts nothing.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { run as runProcess } from '../src/proc/run.ts'
import { chooseLatest, readReleases } from '../src/releases/release.ts'
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

// the newest stable release of the seeds: a pin there makes every poll a no-op
const newest = chooseLatest(readReleases(seeds.map((r, i) => ({
  tag_name: r.tag_name, name: null, draft: false, prerelease: r.prerelease ?? false,
  created_at: new Date(i * 1000).toISOString(), published_at: null, html_url: 'https://github.test', body: null,
}))).releases, 'stable').latest?.version.version as string

function tree(pin: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'clawbake-bench-watch-'))
  const record = JSON.parse(readFileSync(join(REPO, 'pins.lock.json'), 'utf8'))
  writeFileSync(join(dir, 'pins.lock.json'), JSON.stringify({ ...record, tag: pin }, null, 2) + '\n')
  return dir
}

async function run(cmd: string, args: string[], env: Record<string, string | undefined>, cwd: string): Promise<{ status: number | null; stdout: string }> {
  const r = await runProcess(cmd, args, { cwd, env })
  return { status: r.code, stdout: r.stdout }
}

const gh = await startGithubStandin()
gh.setReleases(seeds)
const env = { GITHUB_API_URL: gh.url }
const rows: string[] = []
const dirs: string[] = []
function row(label: string, ms: number, outcome: string): void {
  const statuses = gh.requests.map(q => q.status).join(',')
  rows.push(`${label.padEnd(54)} ${String(gh.requests.length).padStart(2)} request(s) [${statuses}]`.padEnd(92) + `${ms.toFixed(1).padStart(8)} ms  -> ${outcome}`)
}
try {
  const polls: [string, string][] = [
    [`cold poll, pin ${newest} current`, newest],
    [`no-op poll, pin ${newest} current`, newest],
    ['cold poll, pin 2026.9.6 (bake pending)', '2026.9.6'],
    ['repeat poll, routine bake pending', '2026.9.6'],
  ]
  const roots = new Map<string, string>()
  for (const [label, pin] of polls) {
    if (!roots.has(pin)) {
      roots.set(pin, tree(pin))
      dirs.push(roots.get(pin) as string)
    }
    gh.requests.length = 0
    const t0 = performance.now()
    const r = await watchReleases({ root: roots.get(pin) as string, env, now: new Date(), channel: 'stable' })
    row(`${label} (in-process)`, performance.now() - t0, `${r.action} ${r.latest?.tag} ${r.urgency ?? ''}`)
  }
  const cliRoot = tree(newest)
  dirs.push(cliRoot)
  for (const label of ['cold poll, pin current (clawbake CLI)', 'no-op poll, pin current (clawbake CLI)']) {
    gh.requests.length = 0
    const t0 = performance.now()
    // async: the stand-in answers from this same process
    const p = await run(process.execPath, [BIN, 'watch', '--json'], { ...process.env, ...env, CLAWBAKE_ROOT: cliRoot, GITHUB_TOKEN: '' }, cliRoot)
    const doc = p.status === 0 ? JSON.parse(p.stdout) : { action: `exit ${p.status}` }
    row(label, performance.now() - t0, `${doc.action} ${doc.latest?.tag ?? ''}`)
  }
} finally {
  await gh.close()
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
}
process.stdout.write(`watch over ${N} releases (stand-in on 127.0.0.1, 100 per page)\n${rows.join('\n')}\n`)
