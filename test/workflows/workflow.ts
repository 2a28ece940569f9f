// Load the GitHub Actions workflows as data, and run one step's `run:` script
// the way a runner does (bash -e -o pipefail, GITHUB_OUTPUT and
// GITHUB_STEP_SUMMARY files), with `gh` replaced by a loopback stand-in: a
// script that records its arguments and answers with GitHub-shaped JSON.
import { spawn } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'

export const REPO = fileURLToPath(new URL('../..', import.meta.url))
export const WORKFLOWS = join(REPO, '.github', 'workflows')
export const BIN = join(REPO, 'bin', 'clawbake.js')

export interface Step { name?: string; id?: string; uses?: string; run?: string; with?: Record<string, unknown>; env?: Record<string, string>; if?: string; shell?: string }
export interface Job { name?: string; needs?: string | string[]; if?: string; 'runs-on'?: string; environment?: string | { name: string }; permissions?: Record<string, string> | string; env?: Record<string, string>; steps?: Step[]; uses?: string; outputs?: Record<string, string> }
export interface Workflow { name?: string; on: Record<string, any>; permissions?: Record<string, string> | string; concurrency?: { group: string; 'cancel-in-progress'?: boolean }; env?: Record<string, string>; jobs: Record<string, Job>; 'run-name'?: string }

export function workflowFiles(): string[] {
  return readdirSync(WORKFLOWS).filter(f => /\.ya?ml$/.test(f)).sort()
}

export function loadWorkflow(file: string): { raw: string; wf: Workflow } {
  const raw = readFileSync(join(WORKFLOWS, file), 'utf8')
  return { raw, wf: parse(raw) as Workflow }
}

export function step(wf: Workflow, job: string, idOrName: string): Step {
  const s = wf.jobs[job]?.steps?.find(s => s.id === idOrName || s.name === idOrName)
  if (!s) throw new Error(`no step ${idOrName} in job ${job}`)
  return s
}

export function script(wf: Workflow, job: string, idOrName: string): string {
  const s = step(wf, job, idOrName)
  if (!s.run) throw new Error(`step ${idOrName} of ${job} has no run script`)
  return s.run
}

export interface StepRun {
  code: number
  stdout: string
  stderr: string
  /** key=value lines written to $GITHUB_OUTPUT */
  outputs: Record<string, string>
  outputLines: string[]
  summary: string
  /** one entry per `gh` invocation: its argv */
  gh: string[][]
  dir: string
}

export interface GhStandIn {
  /** JSON printed for `gh api <path>` (GET) */
  api?: unknown
  /** JSON printed for `gh run list ...` */
  runs?: unknown
  /** JSON printed for `gh issue list ...` */
  issues?: unknown
}

/** A temp dir removed at teardown. */
export function tempDir(t: { teardown(fn: () => void): void }, prefix = 'clawbake-wf-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/**
 * Run `run` as a workflow step would. `cwd` defaults to a fresh temp dir;
 * `files` are written into it first. `npx clawbake` runs the real bin/clawbake.js.
 */
export async function runStep(
  t: { teardown(fn: () => void): void },
  run: string,
  opts: { env?: Record<string, string>; cwd?: string; files?: Record<string, string>; gh?: GhStandIn } = {},
): Promise<StepRun> {
  const dir = tempDir(t)
  const cwd = opts.cwd ?? join(dir, 'work')
  mkdirSync(cwd, { recursive: true })
  for (const [name, text] of Object.entries(opts.files ?? {})) {
    mkdirSync(dirname(join(cwd, name)), { recursive: true })
    writeFileSync(join(cwd, name), text)
  }
  const bin = join(dir, 'bin')
  mkdirSync(bin)
  const ghLog = join(dir, 'gh.log')
  const answers = join(dir, 'gh')
  mkdirSync(answers)
  for (const [k, v] of Object.entries(opts.gh ?? {})) writeFileSync(join(answers, `${k}.json`), JSON.stringify(v))
  // gh stand-in: one NUL-separated argv per line in gh.log; answers by subcommand.
  writeFileSync(join(bin, 'gh'), [
    '#!/usr/bin/env bash',
    `printf '%s\\0' "$@" >> '${ghLog}'; printf '\\n' >> '${ghLog}'`,
    `answers='${answers}'`,
    'case "$1 $2" in',
    '  "run list") cat "$answers/runs.json" ;;',
    '  "issue list") cat "$answers/issues.json" ;;',
    '  api\\ *) if [[ " $* " != *" --method PUT "* ]]; then cat "$answers/api.json"; fi ;;',
    'esac',
    '',
  ].join('\n'))
  // npx stand-in for package resolution only: `npx clawbake ...` runs the real CLI.
  writeFileSync(join(bin, 'npx'), [
    '#!/usr/bin/env bash',
    `if [ "$1" = clawbake ]; then shift; exec '${process.execPath}' '${BIN}' "$@"; fi`,
    'echo "npx stand-in: only clawbake" >&2; exit 127',
    '',
  ].join('\n'))
  chmodSync(join(bin, 'gh'), 0o755)
  chmodSync(join(bin, 'npx'), 0o755)
  const output = join(dir, 'github_output')
  const summary = join(dir, 'step_summary')
  writeFileSync(output, '')
  writeFileSync(summary, '')
  const env: Record<string, string> = {
    PATH: `${bin}:${dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`,
    HOME: dir,
    LANG: 'C.UTF-8',
    TZ: 'UTC',
    GITHUB_OUTPUT: output,
    GITHUB_STEP_SUMMARY: summary,
    GITHUB_REPOSITORY: 'example/clawbake',
    ...opts.env,
  }
  const child = spawn('bash', ['--noprofile', '--norc', '-e', '-o', 'pipefail', '-c', run], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', d => { stdout += String(d) })
  child.stderr.on('data', d => { stderr += String(d) })
  const code = await new Promise<number>(resolve => child.on('close', c => resolve(c ?? 2)))
  const outputLines = readFileSync(output, 'utf8').split('\n').filter(Boolean)
  const outputs: Record<string, string> = {}
  for (const line of outputLines) {
    const i = line.indexOf('=')
    if (i > 0) outputs[line.slice(0, i)] = line.slice(i + 1)
  }
  const gh = existsSync(ghLog)
    ? readFileSync(ghLog, 'utf8').split('\n').filter(Boolean).map(l => l.split('\0').filter((_, i, a) => i < a.length - 1))
    : []
  return { code, stdout, stderr, outputs, outputLines, summary: readFileSync(summary, 'utf8'), gh, dir }
}

/** Every job's steps that have a `run:` script, with where they are. */
export function runScripts(wf: Workflow): { job: string; step: string; run: string }[] {
  const out: { job: string; step: string; run: string }[] = []
  for (const [job, j] of Object.entries(wf.jobs)) {
    for (const [i, s] of (j.steps ?? []).entries()) if (s.run) out.push({ job, step: s.name ?? s.id ?? String(i), run: s.run })
  }
  return out
}
