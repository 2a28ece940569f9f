// The gates that ask OpenClaw's own CLI about the laid-out config:
// config-valid, doctor, security-audit, models. Each reads the command's JSON
// (exit codes alone lie: `security audit` exits 0 with critical findings).
import type { OpenclawHost, CliRun } from './host.ts'
import { fail, pass, type Verdict } from './gate.ts'

/** The model the shipped config must make the default (avots provider key + model id). */
export const EXPECTED_MODEL = 'avots/anthropic/claude-opus-4.8'

/** The JSON document a command printed (tolerates a banner line before it). */
export function jsonOf(run: CliRun): any {
  const text = run.stdout.trim()
  try {
    return JSON.parse(text)
  } catch {
    const start = text.indexOf('{')
    const end = text.lastIndexOf('}')
    if (start >= 0 && end > start) {
      try { return JSON.parse(text.slice(start, end + 1)) } catch { /* fall through */ }
    }
  }
  return undefined
}

// OpenClaw's CLI failure block ends with generic hints ("[openclaw] Debug: set
// OPENCLAW_DEBUG=1 ...", "Try: openclaw doctor", "Help: openclaw --help"); a
// gate's detail must carry the title and Reason lines above them instead.
const GENERIC_HINT = /^\[openclaw\] (Debug|Try|Help|Docs):/

/** The last meaningful lines a failed command printed (its JSON error envelope first). */
export function tail(run: CliRun): string {
  const envelope = jsonOf(run)
  const fromJson = envelope && envelope.ok === false ? String(envelope.error?.message ?? envelope.error ?? '') : ''
  const lines = (run.stderr.trim() || run.stdout.trim()).split('\n').map(l => l.trim()).filter(l => l && !GENERIC_HINT.test(l))
  return [fromJson, ...lines.slice(-4)].filter(Boolean).join(' | ').slice(0, 600)
}

// OpenClaw's CLI commands take the state database's lifecycle lock; while the
// running gateway holds it (a turn being written) a command fails at once with
// "another OpenClaw process owns state-lifecycle" (seen with 2026.9.6 on a
// loaded 2-core machine). That is lock contention, not a verdict on the config:
// retry it with back-off, and say so in the detail. Any other failure is final.
const CONTENTION = /another OpenClaw process owns ([\w-]+)/
export const CONTENTION_RETRY_MS = [1_000, 2_000, 4_000, 8_000]

/** `openclaw <args>`, retried only while the state lock is held by another OpenClaw process. */
export async function cliRetryingContention(host: OpenclawHost, args: string[], delaysMs: readonly number[] = CONTENTION_RETRY_MS): Promise<CliRun & { contended: number }> {
  let contended = 0
  for (;;) {
    const run = await host.cli(args)
    const held = run.code !== 0 ? CONTENTION.exec(`${run.stderr}\n${run.stdout}`) : null
    if (!held || contended >= delaysMs.length) return { ...run, contended }
    await new Promise(r => setTimeout(r, delaysMs[contended]))
    contended++
  }
}

/** Run one CLI gate: the command (contention retried), then its verdict, which says when it had to wait. */
async function cliGate(host: OpenclawHost, args: string[], judge: (run: CliRun) => Verdict): Promise<Verdict> {
  const run = await cliRetryingContention(host, args)
  const v = judge(run)
  if (!run.contended) return v
  return { ...v, detail: `${v.detail} (after ${run.contended} retr${run.contended === 1 ? 'y' : 'ies'}: state lock held by another OpenClaw process)` }
}

/** `unexpanded`: object keys still holding `${VAR}` after first-boot layout (OpenClaw never expands keys). */
export function configValid(host: OpenclawHost, unexpanded: string[] = []): Promise<Verdict> {
  return cliGate(host, ['config', 'validate', '--json'], run => {
    if (unexpanded.length) return fail(`object key(s) keep a \${VAR} that OpenClaw never expands: ${unexpanded.join(', ')} (openclaw config validate exit ${run.code})`)
    const doc = jsonOf(run)
    if (run.code !== 0 || doc?.valid !== true) {
      const issues = Array.isArray(doc?.issues) ? doc.issues.map((i: any) => `${i.path ?? '<root>'}: ${i.message}`).join('; ') : tail(run)
      return fail(`openclaw config validate: exit ${run.code}, invalid: ${issues}`)
    }
    const warnings = Array.isArray(doc.warnings) ? doc.warnings.length : 0
    return pass(`openclaw config validate: valid (${warnings} warning(s)) in ${run.ms} ms`)
  })
}

export function doctor(host: OpenclawHost): Promise<Verdict> {
  return cliGate(host, ['doctor', '--lint', '--json'], run => {
    const doc = jsonOf(run)
    // exit 0 = no findings, 1 = findings at/above --severity-min, 2 = the lint itself failed
    if (!doc || !Array.isArray(doc.findings) || run.code === 2) return fail(`openclaw doctor --lint: exit ${run.code}, no JSON report: ${tail(run)}`)
    const errors = doc.findings.filter((f: any) => f.severity === 'error' || f.severity === 'critical')
    const warnings = doc.findings.filter((f: any) => f.severity === 'warning' || f.severity === 'warn')
    const list = (fs: any[]) => fs.map(f => `${f.checkId}${f.path ? ` (${f.path})` : ''}`).join(', ')
    if (errors.length) return fail(`openclaw doctor --lint: ${errors.length} error finding(s): ${errors.map((f: any) => `${f.checkId}: ${f.message}`).join('; ')}`)
    return pass(`openclaw doctor --lint: ${doc.checksRun ?? '?'} checks, 0 errors, ${warnings.length} warning(s)${warnings.length ? `: ${list(warnings)}` : ''}`)
  })
}

export function securityAudit(host: OpenclawHost): Promise<Verdict> {
  return cliGate(host, ['security', 'audit', '--json'], run => {
    const doc = jsonOf(run)
    if (!doc || !Array.isArray(doc.findings)) return fail(`openclaw security audit: exit ${run.code}, no JSON report: ${tail(run)}`)
    const critical = doc.findings.filter((f: any) => f.severity === 'critical')
    const warns = doc.findings.filter((f: any) => f.severity === 'warn' || f.severity === 'warning')
    const declared = Number(doc.summary?.critical ?? 0)
    if (critical.length || declared > 0) return fail(`openclaw security audit: ${Math.max(critical.length, declared)} critical: ${critical.map((f: any) => `${f.checkId}: ${f.title}`).join('; ')}`)
    return pass(`openclaw security audit: 0 critical, ${warns.length} warning(s)${warns.length ? `: ${warns.map((f: any) => f.checkId).join(', ')}` : ''}`)
  })
}

export function models(host: OpenclawHost): Promise<Verdict> {
  return cliGate(host, ['models', 'list', '--json'], run => {
    const doc = jsonOf(run)
    if (!doc || !Array.isArray(doc.models)) return fail(`openclaw models list: exit ${run.code}, no JSON: ${tail(run)}`)
    const model = doc.models.find((m: any) => m?.key === EXPECTED_MODEL)
    if (!model) return fail(`openclaw models list: ${EXPECTED_MODEL} missing (have: ${doc.models.map((m: any) => m?.key).join(', ') || 'none'})`)
    const tags: string[] = Array.isArray(model.tags) ? model.tags : []
    if (!tags.includes('default')) {
      const dflt = doc.models.find((m: any) => Array.isArray(m?.tags) && m.tags.includes('default'))
      return fail(`openclaw models list: ${EXPECTED_MODEL} is not the default (tags: ${tags.join(', ') || 'none'}; default is ${dflt?.key ?? 'none'})`)
    }
    return pass(`openclaw models list: ${EXPECTED_MODEL} tagged ${tags.join(', ')}`)
  })
}
