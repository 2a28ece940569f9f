// Run the real `clawbake` binary (bin/clawbake.js) as a child process, the way
// an operator or a workflow does, and capture stdout/stderr/exit code.
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export const BIN = fileURLToPath(new URL('../../bin/clawbake.js', import.meta.url))

export interface CliResult {
  code: number
  stdout: string
  stderr: string
  /** stdout parsed as the one JSON document (throws if it is not exactly one) */
  json<T = any>(): T
}

export async function clawbake(args: string[], opts: { cwd?: string; env?: Record<string, string | undefined>; input?: string } = {}): Promise<CliResult> {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', d => { stdout += String(d) })
  child.stderr.on('data', d => { stderr += String(d) })
  child.stdin.end(opts.input ?? '')
  const code = await new Promise<number>(resolve => child.on('close', c => resolve(c ?? 2)))
  return { code, stdout, stderr, json: () => JSON.parse(stdout) }
}
