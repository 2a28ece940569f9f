// cloud-init's own validator on a #cloud-config document: `cloud-init schema
// --config-file` (Debian package `cloud-init`), the same code the VM runs.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { run } from '../proc/run.ts'

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
    const r = await run('cloud-init', ['schema', '--config-file', file], {
      timeoutMs: 60_000,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8' },
      ifMissing: { message: 'cloud-init is not installed: `apt-get install cloud-init` (scripts/setup.sh installs it)', rule: 'env.cloud-init-missing' },
    })
    if (r.code === 0 && !r.timedOut) return { valid: true, errors: [] }
    const lines = `${r.stderr}\n${r.stdout}${r.timedOut ? '\ncloud-init schema timed out after 60 s' : ''}`.split('\n').map(l => l.trim()).filter(l => l && !/^Error:$/.test(l))
    return { valid: false, errors: lines.map(l => l.replaceAll(file, 'cloud-config')).slice(0, 10) }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
