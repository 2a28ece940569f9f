// The gates that ask OpenClaw's own CLI about the laid-out config:
// config-valid, doctor, security-audit, models. Each reads the command's JSON
// (exit codes alone lie: `security audit` exits 0 with critical findings).
import type { OpenclawHost, CliRun } from './host.ts'
import { fail, pass, type Verdict } from './gate.ts'
// bundled into the CLI and the VM's gate bundle alike: the build VM has no checkout
import acceptedDoctorWarnings from '../../packer/doctor-accepted.json' with { type: 'json' }

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

/** The one reviewed list of doctor security warnings the shipped config keeps on purpose. */
export const DOCTOR_ACCEPTED_FILE = 'packer/doctor-accepted.json'

/** One entry of packer/doctor-accepted.json. */
export interface AcceptedDoctorWarning {
  checkId: string
  /** the warning's `requirement` (2026.9.x reports one): must agree when both have it */
  requirement?: string
  /** a regular expression for the warning's message */
  match: string
  /** regular expressions for the lines that belong to it: 2026.7.x prints each as a warning of its own right after it, 2026.9.x as lines of its fixHint */
  detailLines?: string[]
  reason: string
}

export interface DoctorFinding {
  checkId: string
  severity: string
  message: string
  path?: string
  requirement?: string
  fixHint?: string
}

export interface DoctorClassification {
  errors: DoctorFinding[]
  /** security warnings on the accepted list, each with the entry that accepts it */
  accepted: { finding: DoctorFinding; entry: AcceptedDoctorWarning }[]
  /** security warnings nobody reviewed: the gate fails on these */
  unlisted: DoctorFinding[]
  /** every other warning (listed in the detail, not gated) */
  other: DoctorFinding[]
}

/** A doctor check about security (core/doctor/security today): its warnings must be fixed or accepted. */
export const isSecurityCheck = (checkId: string): boolean => /security/i.test(checkId)

/** Parse and check the accepted list (a broken entry is an error, never "accept everything"). */
export function acceptedDoctorList(doc: unknown = acceptedDoctorWarnings): AcceptedDoctorWarning[] {
  const list = (doc as { accepted?: unknown })?.accepted
  if (!Array.isArray(list)) throw new Error(`${DOCTOR_ACCEPTED_FILE}: no "accepted" list`)
  return list.map((e: any, i: number) => {
    const where = `${DOCTOR_ACCEPTED_FILE}: accepted[${i}]`
    for (const k of ['checkId', 'match', 'reason'] as const) {
      if (typeof e?.[k] !== 'string' || !e[k].trim()) throw new Error(`${where}: ${k} must be a non-empty string`)
    }
    if (e.requirement !== undefined && typeof e.requirement !== 'string') throw new Error(`${where}: requirement must be a string`)
    if (e.detailLines !== undefined && !(Array.isArray(e.detailLines) && e.detailLines.every((l: unknown) => typeof l === 'string' && l))) throw new Error(`${where}: detailLines must be a list of regular expressions`)
    for (const re of [e.match, ...(e.detailLines ?? [])]) {
      if (!re.startsWith('^') || !re.endsWith('$')) throw new Error(`${where}: ${JSON.stringify(re)} must be anchored (^...$): a partial match accepts more than was reviewed`)
      new RegExp(re) // throws on a malformed expression
    }
    return e as AcceptedDoctorWarning
  })
}

const severityOf = (f: DoctorFinding) => String(f.severity ?? '').toLowerCase()

/**
 * Sort `doctor --lint` findings: errors; security warnings accepted by an
 * entry (its message, requirement and every detail line match); security
 * warnings nobody listed; the other warnings. In 2026.7.x a warning's
 * detail lines arrive as warnings of their own right after it: such a line
 * is accepted only as a detail line of the entry that accepted the warning
 * just before it.
 */
export function classifyDoctorFindings(findings: DoctorFinding[], accepted: AcceptedDoctorWarning[]): DoctorClassification {
  const out: DoctorClassification = { errors: [], accepted: [], unlisted: [], other: [] }
  const test = (re: string, text: string) => new RegExp(re).test(text)
  let previous: AcceptedDoctorWarning | undefined
  for (const f of findings) {
    const severity = severityOf(f)
    if (severity === 'error' || severity === 'critical') { out.errors.push(f); previous = undefined; continue }
    if (!isSecurityCheck(String(f.checkId))) { out.other.push(f); previous = undefined; continue }
    const message = String(f.message ?? '')
    const hintLines = typeof f.fixHint === 'string' ? f.fixHint.split('\n').map(l => l.trim()).filter(Boolean) : []
    const entry = accepted.find(e => e.checkId === f.checkId
      && test(e.match, message)
      && (e.requirement === undefined || f.requirement === undefined || e.requirement === f.requirement)
      && hintLines.every(l => (e.detailLines ?? []).some(re => test(re, l))))
    if (entry) { out.accepted.push({ finding: f, entry }); previous = entry; continue }
    if (previous && previous.checkId === f.checkId && f.requirement === undefined && !hintLines.length && (previous.detailLines ?? []).some(re => test(re, message))) {
      out.accepted.push({ finding: f, entry: previous })
      continue
    }
    out.unlisted.push(f)
    previous = undefined
  }
  return out
}

const shown = (f: DoctorFinding) => `${f.checkId}${f.requirement ? ` [${f.requirement}]` : ''}: ${String(f.message ?? '').trim()}`

/** The doctor gate's verdict on one `doctor --lint --json` run. */
export function doctorVerdict(run: CliRun, accepted: AcceptedDoctorWarning[] = acceptedDoctorList()): Verdict {
  const doc = jsonOf(run)
  // exit 0 = no findings, 1 = findings at/above --severity-min, 2 = the lint itself failed
  if (!doc || !Array.isArray(doc.findings) || run.code === 2) return fail(`openclaw doctor --lint: exit ${run.code}, no JSON report: ${tail(run)}`)
  const c = classifyDoctorFindings(doc.findings, accepted)
  const warnings = c.accepted.length + c.unlisted.length + c.other.length
  const head = `openclaw doctor --lint: ${doc.checksRun ?? '?'} checks, ${c.errors.length} error(s), ${warnings} warning(s)`
  const parts = [
    c.errors.length ? `errors: ${c.errors.map(shown).join('; ')}` : '',
    c.unlisted.length ? `security warning(s) not in ${DOCTOR_ACCEPTED_FILE}: ${c.unlisted.map(shown).join('; ')}` : '',
    c.accepted.length ? `accepted (${DOCTOR_ACCEPTED_FILE}): ${c.accepted.map(a => shown(a.finding)).join('; ')}` : '',
    c.other.length ? `other: ${c.other.map(shown).join('; ')}` : '',
  ].filter(Boolean)
  const detail = `${head}${parts.length ? ` | ${parts.join(' | ')}` : ''}`
  return c.errors.length || c.unlisted.length ? fail(detail) : pass(detail)
}

export function doctor(host: OpenclawHost): Promise<Verdict> {
  return cliGate(host, ['doctor', '--lint', '--json'], run => doctorVerdict(run))
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
