// Wall time of the rehearsal bake (Packer `null` source), split by stage.
// Runs in a temp copy of the tree with the release recorded and the pinned
// digest given (no registry): release, resolve, pin, check, prepare,
// packer validate, packer build (gates included), gates, publish.
// Uses the real gate suite (`clawbake verify --local`, avots stand-in) when
// it is there; otherwise the gate double of test/bake/fixtures, and says so.
// Prints figures; asserts nothing.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { bakeCommand } from '../src/bake/command.ts'
import { realStages } from '../src/bake/deps.ts'
import type { StageTiming } from '../src/bake/bake.ts'

const REPO = fileURLToPath(new URL('..', import.meta.url))
const root = mkdtempSync(join(tmpdir(), 'clawbake-bench-bake-'))
try {
  for (const e of ['packer', 'pins.lock.json', 'CHANGELOG.md', 'catalog']) if (existsSync(join(REPO, e))) cpSync(join(REPO, e), join(root, e), { recursive: true })
  mkdirSync(join(root, 'catalog'), { recursive: true })
  writeFileSync(join(root, 'catalog', 'releases.json'), JSON.stringify({ schemaVersion: 1, releases: [{ tag: '2026.9.6', channel: 'stable', publishedAt: '2026-11-20T10:00:00Z', url: 'https://github.com/openclaw/openclaw/releases/tag/v2026.9.6', firstSeenAt: '2026-11-20T11:00:00Z', urgency: 'routine', dueBy: '2026-11-27T10:00:00Z', advisories: [] }] }))
  const digest = JSON.parse(readFileSync(join(root, 'pins.lock.json'), 'utf8')).digest as string

  const realGates = existsSync(join(REPO, 'src', 'gates', 'suite.ts')) && !/not implemented yet/.test(readFileSync(join(REPO, 'src', 'gates', 'command.ts'), 'utf8'))
  const env: Record<string, string | undefined> = { ...process.env }
  delete env.CLAWBAKE_ROOT
  let close = async () => {}
  let clawbakeCommand: string | undefined
  if (realGates) {
    const { startAvotsStandin } = await import('../test/standins/avots.ts')
    const avots = await startAvotsStandin({ mode: 'tool' })
    close = () => avots.close()
    env.AVOTS_BASE_URL = avots.baseUrl
    env.AVOTS_API_KEY = avots.apiKey
  } else {
    env.AVOTS_API_KEY = 'sk-bench-' + Math.random().toString(36).slice(2)
    env.GATE_RUNNER_MODE = 'pass'
    clawbakeCommand = `sh ${join(REPO, 'test', 'bake', 'fixtures', 'gate-runner.sh')}`
  }
  let json = ''
  const started = Date.now()
  const code = await bakeCommand(
    ['--tag', '2026.9.6', '--builder', 'null', '--digest', digest, '--json'],
    { out: s => { json += s }, err: () => {}, env, cwd: root, now: () => new Date() },
    { stages: realStages, ...(clawbakeCommand ? { clawbakeCommand } : {}) },
  )
  const wall = Date.now() - started
  await close()
  const out = JSON.parse(json) as { ok: boolean; stages: StageTiming[]; error?: { message: string } }
  console.log(`rehearsal bake (null source, packer 1.6.6, gates: ${realGates ? 'real suite, verify --local' : 'gate double (no gate suite)'}): exit ${code}, ${(wall / 1000).toFixed(2)} s wall`)
  for (const s of out.stages) console.log(`  ${s.stage.padEnd(9)} ${(s.ms / 1000).toFixed(2).padStart(7)} s`)
  const accounted = out.stages.reduce((n, s) => n + s.ms, 0)
  console.log(`  ${'other'.padEnd(9)} ${((wall - accounted) / 1000).toFixed(2).padStart(7)} s (prerequisites, lock, catalog read)`)
  if (!out.ok) console.log(`  failed: ${out.error?.message}`)
} finally {
  rmSync(root, { recursive: true, force: true })
}
