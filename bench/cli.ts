// `npm run bench -- cli`: start-up cost of the `clawbake` binary as a process,
// side by side in one run, each measured round-robin so machine load hits all
// alike:
//   node -e 0                      vs  clawbake --help
//   skopeo inspect --raw           vs  clawbake resolve <tag> --json    (same loopback registry)
//   skopeo inspect --raw           vs  clawbake watch --json (a no-op poll: one request answered 304)
// The registry is docker-registry 2.8 twice over one storage: anonymous (HEAD +
// GET, the requests of a warm token) and with token auth (a process starts
// with no token: challenge, token, GET). clawbake runs from its bundle
// (dist/cli.mjs) and, for comparison, from its TypeScript sources
// (CLAWBAKE_NO_BUNDLE=1). Targets: resolve and watch within 4x of skopeo,
// --help within 2x of `node -e 0`. Prints figures; asserts nothing.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { run } from '../src/proc/run.ts'
import { bundleFresh } from '../scripts/build-cli.ts'
import { buildImage, imageRoot, pushImage, startRegistry, REPOSITORY } from '../test/support/registry.ts'
import { startGithubStandin } from '../test/standins/github.ts'

const REPO = fileURLToPath(new URL('..', import.meta.url))
const BIN = join(REPO, 'bin', 'clawbake.js')
const N = Number(process.env.BENCH_CLI_N ?? 15)
const teardowns: (() => void | Promise<void>)[] = []
const t = { teardown: (fn: () => void | Promise<void>) => { teardowns.push(fn) } }
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

interface Case { name: string; cmd: string; args: string[]; env?: Record<string, string>; check: (r: { code: number | null; stdout: string }) => void; ms: number[] }

try {
  // one image, served anonymously and behind token auth
  const open = await startRegistry(t)
  const image = buildImage(imageRoot(t), { tag: '2026.9.6', kind: 'oci-index', attestation: true })
  await pushImage(image, open.host)
  const tokened = await startRegistry(t, { auth: 'token', storage: open.storage })

  // a tree whose pin is the newest release the GitHub stand-in lists: every poll after the first is a no-op
  const gh = await startGithubStandin()
  t.teardown(() => gh.close())
  gh.setReleases([{ tag_name: 'v2026.9.5' }, { tag_name: 'v2026.9.6' }])
  const tree = mkdtempSync(join(tmpdir(), 'clawbake-bench-cli-'))
  t.teardown(() => rmSync(tree, { recursive: true, force: true }))
  const record = JSON.parse(readFileSync(join(REPO, 'pins.lock.json'), 'utf8'))
  writeFileSync(join(tree, 'pins.lock.json'), JSON.stringify({ ...record, tag: '2026.9.6' }, null, 2) + '\n')
  const watchEnv = { GITHUB_API_URL: gh.url, GITHUB_TOKEN: '', CLAWBAKE_ROOT: tree }

  const ok = (r: { code: number | null }) => { if (r.code !== 0) throw new Error(`exit ${r.code}`) }
  const digest = (r: { code: number | null; stdout: string }) => { ok(r); if (JSON.parse(r.stdout).digest !== image.digest) throw new Error('wrong digest') }
  const upToDate = (r: { code: number | null; stdout: string }) => { ok(r); if (JSON.parse(r.stdout).action !== 'up-to-date') throw new Error('not a no-op poll') }
  const skopeo = (host: string) => ['inspect', '--raw', '--tls-verify=false', `docker://${host}/${REPOSITORY}:2026.9.6`]
  const resolve = (host: string) => [BIN, 'resolve', '2026.9.6', '--image', `${host}/${REPOSITORY}`, '--json']
  const bundled = { CLAWBAKE_NO_BUNDLE: '' }
  const sources = { CLAWBAKE_NO_BUNDLE: '1' }
  const cases: Case[] = [
    { name: 'node -e 0', cmd: process.execPath, args: ['-e', '0'], check: ok, ms: [] },
    { name: 'clawbake --help', cmd: process.execPath, args: [BIN, '--help'], env: bundled, check: ok, ms: [] },
    { name: 'clawbake --help (sources)', cmd: process.execPath, args: [BIN, '--help'], env: sources, check: ok, ms: [] },
    { name: 'skopeo inspect --raw (anonymous)', cmd: 'skopeo', args: skopeo(open.host), check: ok, ms: [] },
    { name: 'clawbake resolve (anonymous = warm-token requests)', cmd: process.execPath, args: resolve(open.host), env: bundled, check: digest, ms: [] },
    { name: 'clawbake resolve (anonymous, sources)', cmd: process.execPath, args: resolve(open.host), env: sources, check: digest, ms: [] },
    { name: 'skopeo inspect --raw (token auth)', cmd: 'skopeo', args: skopeo(tokened.host), check: ok, ms: [] },
    { name: 'clawbake resolve (token auth, new token)', cmd: process.execPath, args: resolve(tokened.host), env: bundled, check: digest, ms: [] },
    { name: 'clawbake watch, no-op poll', cmd: process.execPath, args: [BIN, 'watch', '--json'], env: { ...bundled, ...watchEnv }, check: upToDate, ms: [] },
    { name: 'clawbake watch, no-op poll (sources)', cmd: process.execPath, args: [BIN, 'watch', '--json'], env: { ...sources, ...watchEnv }, check: upToDate, ms: [] },
  ]
  // fill the watch cache (ETag) and warm the disk and the compile cache; not counted
  for (const c of cases) c.check(await run(c.cmd, c.args, { env: { ...process.env, ...c.env } }))
  for (let i = 0; i < N; i++) {
    for (const c of cases) {
      const t0 = performance.now()
      const r = await run(c.cmd, c.args, { env: { ...process.env, ...c.env } })
      c.ms.push(performance.now() - t0)
      c.check(r)
    }
  }
  const m = (name: string) => median(cases.find(c => c.name === name)!.ms)
  process.stdout.write(`clawbake as a process, n=${N} round-robin, bundle ${bundleFresh() ? 'current' : 'MISSING OR STALE (the bundled rows ran the sources)'}\n`)
  process.stdout.write(`${'what'.padEnd(52)} ${'median ms'.padStart(10)} ${'min ms'.padStart(8)}\n`)
  for (const c of cases) process.stdout.write(`${c.name.padEnd(52)} ${median(c.ms).toFixed(1).padStart(10)} ${Math.min(...c.ms).toFixed(1).padStart(8)}\n`)
  const ratio = (a: string, b: string, target: number) => {
    const x = m(a) / m(b)
    return `${x.toFixed(2)}x (target <= ${target}x: ${x <= target ? 'met' : 'NOT met'})`
  }
  process.stdout.write(`--help vs node -e 0:                          ${ratio('clawbake --help', 'node -e 0', 2)}\n`)
  process.stdout.write(`resolve vs skopeo, anonymous (warm-token requests): ${ratio('clawbake resolve (anonymous = warm-token requests)', 'skopeo inspect --raw (anonymous)', 4)}\n`)
  process.stdout.write(`resolve vs skopeo, token auth (new token each):    ${ratio('clawbake resolve (token auth, new token)', 'skopeo inspect --raw (token auth)', 4)}\n`)
  process.stdout.write(`no-op watch vs skopeo (token auth):            ${ratio('clawbake watch, no-op poll', 'skopeo inspect --raw (token auth)', 4)}\n`)
} finally {
  for (const fn of teardowns.reverse()) await fn()
}
