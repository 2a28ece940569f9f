// smoke.shellcheck: the shipped shell scripts pass shellcheck (Debian package).
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { envError } from '../errors.ts'
import type { Finding } from './finding.ts'

const run = promisify(execFile)

interface Comment { line: number; code: number; level: string; message: string }

export async function shellcheckFindings(path: string, file: string, rule: string): Promise<Finding[]> {
  try {
    await run('shellcheck', ['--format=json', '--severity=style', path], { timeout: 60_000 })
    return []
  } catch (e) {
    const x = e as { code?: number | string; stdout?: string }
    if (x.code === 'ENOENT') throw envError('shellcheck is not installed: `apt-get install shellcheck` (scripts/setup.sh installs it)', { rule: 'env.shellcheck-missing' }, e)
    let comments: Comment[] = []
    try { comments = JSON.parse(x.stdout ?? '[]') as Comment[] } catch { /* reported below */ }
    if (!comments.length) return [{ rule, file, path: '/', message: `shellcheck failed: ${String(x.stdout ?? e).slice(0, 300)}` }]
    return comments.map(c => ({ rule, file, path: `line ${c.line}`, message: `shellcheck SC${c.code} (${c.level}): ${c.message}` }))
  }
}
