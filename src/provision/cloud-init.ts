// cloud-init's own validator on a #cloud-config document: `cloud-init schema
// --config-file` (Debian package `cloud-init`), the same code the VM runs.
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { envError } from '../errors.ts'

const run = promisify(execFile)

export interface CloudConfigVerdict { valid: boolean; errors: string[] }

/**
 * Validate cloud-config text. The text is written to a private temp dir
 * (0700/0600, removed afterwards) because it may carry a client's secrets;
 * cloud-init's messages are returned without the document.
 */
export async function validateCloudConfig(text: string): Promise<CloudConfigVerdict> {
  const dir = mkdtempSync(join(tmpdir(), 'clawbake-cloudinit-'))
  const file = join(dir, 'user-data.yaml')
  try {
    writeFileSync(file, text, { mode: 0o600 })
    try {
      await run('cloud-init', ['schema', '--config-file', file], { timeout: 60_000, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8' } })
      return { valid: true, errors: [] }
    } catch (e) {
      const x = e as { code?: number | string; stdout?: string; stderr?: string }
      if (x.code === 'ENOENT') throw envError('cloud-init is not installed: `apt-get install cloud-init` (scripts/setup.sh installs it)', { rule: 'env.cloud-init-missing' }, e)
      const lines = `${x.stderr ?? ''}\n${x.stdout ?? ''}`.split('\n').map(l => l.trim()).filter(l => l && !/^Error:$/.test(l))
      return { valid: false, errors: lines.map(l => l.replaceAll(file, 'cloud-config')).slice(0, 10) }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
