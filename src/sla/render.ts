// The SLA report for people: Markdown for GitHub job summaries
// (`clawbake sla --markdown >> "$GITHUB_STEP_SUMMARY"`) and a plain table for
// the terminal.
import type { SlaRelease, SlaReport } from './report.ts'

/** "20.5 h", or "3.2 d" from two days up. */
export function duration(hours: number): string {
  const h = Math.abs(hours)
  return h >= 48 ? `${(h / 24).toFixed(1)} d` : `${h.toFixed(1)} h`
}

/** "2026-11-20 14:05Z" */
export function when(iso: string | null): string {
  return iso ? `${iso.slice(0, 10)} ${iso.slice(11, 16)}Z` : '-'
}

export function status(r: SlaRelease): string {
  if (r.state === 'patched') {
    if (r.breached) return `BREACHED: published ${duration(r.hours - windowOf(r))} late`
    return r.urgency ? 'within SLA' : 'no SLA (no watch decision)'
  }
  if (r.remainingHours === null) return 'open, no SLA'
  if (r.breached) return `BREACHED: overdue by ${duration(-r.remainingHours)}`
  return `open: ${duration(r.remainingHours)} left`
}

function windowOf(r: SlaRelease): number {
  // hours from release to dueBy (the recorded dueBy may be earlier than the
  // nominal window when an advisory upgraded the urgency)
  return r.dueBy ? (Date.parse(r.dueBy) - Date.parse(r.releasedAt)) / 3_600_000 : Infinity
}

function headline(report: SlaReport): string {
  const b = report.breaches
  const open = report.open.length
  const parts = [
    b.total === 0 ? 'no SLA breach' : `${b.total} SLA breach${b.total === 1 ? '' : 'es'} (critical ${b.critical}, routine ${b.routine})`,
    `${open} open release${open === 1 ? '' : 's'}`,
    `${report.releases.length} release${report.releases.length === 1 ? '' : 's'} tracked`,
  ]
  return parts.join(' · ')
}

function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ')
}

export function markdown(report: SlaReport): string {
  const w = report.windows
  const lines = [
    `### Patch SLA (critical ${w.criticalHours} h, routine ${w.routineHours / 24} days)`,
    '',
    `${report.ok ? ':white_check_mark:' : ':x:'} **${headline(report)}** as of ${when(report.now)}`,
    '',
  ]
  if (report.releases.length === 0) {
    lines.push(report.sources.read.length === 0
      ? `_No records yet: ${report.sources.missing.join(', ')} not found. \`clawbake watch\` records releases; \`clawbake bake\` publishes images._`
      : '_No releases recorded._', '')
    return lines.join('\n')
  }
  lines.push(
    '| release | channel | urgency | released | due by | image published | time to patch | status |',
    '|---|---|---|---|---|---|---|---|',
  )
  for (const r of report.releases) {
    const published = r.publishedAt ? `${when(r.publishedAt)}${r.patchedBy && r.patchedBy !== r.tag ? ` (as ${r.patchedBy})` : ''}` : '-'
    const ttp = r.state === 'patched' ? duration(r.hours) : `${duration(r.hours)} so far`
    const mark = r.breached ? ':x: ' : r.state === 'open' ? ':hourglass: ' : ''
    lines.push(`| ${cell(r.tag)} | ${r.channel} | ${r.urgency ?? '-'} | ${when(r.releasedAt)} | ${when(r.dueBy)} | ${cell(published)} | ${ttp} | ${mark}${cell(status(r))} |`)
  }
  lines.push('')
  if (report.revocations.length) {
    lines.push('#### Revoked images', '', '| channel | release | image | revoked | by | reason |', '|---|---|---|---|---|---|')
    for (const r of report.revocations) lines.push(`| ${r.channel} | ${cell(r.tag)} | ${cell(r.image ?? r.manifestDigest ?? '-')} | ${when(r.at)} | ${cell(r.who)} | ${cell(r.reason)} |`)
    lines.push('')
  }
  return lines.join('\n')
}

export function text(report: SlaReport): string {
  const header = ['release', 'channel', 'urgency', 'released', 'due by', 'published', 'time to patch', 'status']
  const rows = report.releases.map(r => [
    r.tag, r.channel, r.urgency ?? '-', when(r.releasedAt), when(r.dueBy),
    r.publishedAt ? `${when(r.publishedAt)}${r.patchedBy && r.patchedBy !== r.tag ? ` (as ${r.patchedBy})` : ''}` : '-',
    r.state === 'patched' ? duration(r.hours) : `${duration(r.hours)} so far`,
    status(r),
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map(r => (r[i] as string).length)))
  const fmt = (cols: string[]) => cols.map((c, i) => c.padEnd(widths[i] as number)).join('  ').trimEnd()
  const out = [`sla: ${headline(report)} (as of ${when(report.now)})`]
  if (report.sources.missing.length) out.push(`sla: not recorded yet: ${report.sources.missing.join(', ')}`)
  if (rows.length) out.push('', fmt(header), ...rows.map(fmt))
  if (report.revocations.length) {
    out.push('', ...report.revocations.map(r => `revoked: ${r.channel} ${r.image ?? r.tag} (${r.manifestDigest ?? 'no store digest'}) ${when(r.at)} by ${r.who}: ${r.reason}`))
  }
  return out.join('\n') + '\n'
}
