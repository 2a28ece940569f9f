// smoke.shellcheck: the shipped shell scripts pass shellcheck (Debian package).
import { run } from '../proc/run.ts'
import type { Finding } from './finding.ts'

interface Comment { line: number; code: number; level: string; message: string }

export async function shellcheckFindings(path: string, file: string, rule: string): Promise<Finding[]> {
  const r = await run('shellcheck', ['--format=json', '--severity=style', path], {
    timeoutMs: 60_000,
    ifMissing: { message: 'shellcheck is not installed: `apt-get install shellcheck` (scripts/setup.sh installs it)', rule: 'env.shellcheck-missing' },
  })
  if (r.code === 0 && !r.timedOut) return []
  let comments: Comment[] = []
  try { comments = JSON.parse(r.stdout || '[]') as Comment[] } catch { /* reported below */ }
  if (!comments.length) return [{ rule, file, path: '/', message: `shellcheck failed: ${(r.stdout || r.stderr || (r.timedOut ? 'timed out after 60 s' : `exit ${r.code}`)).slice(0, 300)}` }]
  return comments.map(c => ({ rule, file, path: `line ${c.line}`, message: `shellcheck SC${c.code} (${c.level}): ${c.message}` }))
}
