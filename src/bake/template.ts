// Which template directory Packer runs in. Packer 1.6.x: packer/ itself.
// Packer >= 1.7: a staged copy under the run directory whose build block also
// carries packer/modern/error-cleanup.hcl (an error-cleanup-provisioner, which
// 1.6.6's HCL2 parser rejects). The copy links scripts/ and files/, so
// path.root resolves the same files either way.
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ClawbakeError } from '../errors.ts'

export const TEMPLATE_FILE = 'clawbake.pkr.hcl'

/** `template` with `fragment` inserted before the closing brace of its (single) build block. */
export function withErrorCleanup(template: string, fragment: string): string {
  const start = template.search(/^build \{$/m)
  const end = template.indexOf('\n}', start)
  if (start < 0 || end < 0) throw new ClawbakeError('no top-level `build {` block found', { file: `packer/${TEMPLATE_FILE}`, rule: 'bake.template-layout' }, 2)
  return `${template.slice(0, end)}\n\n${fragment.trimEnd()}${template.slice(end)}`
}

/**
 * The amazon-ebs source with `temporary_key_pair_type = "ed25519"`: Ubuntu
 * 24.04's OpenSSH refuses the RSA/SHA-1 temporary key Packer uses by default
 * (and Packer 1.6.6 knows no other, nor this attribute).
 */
export function withEd25519TemporaryKey(template: string): string {
  const start = template.search(/^source "amazon-ebs" "[^"]+" \{$/m)
  if (start < 0) throw new ClawbakeError('no amazon-ebs source block found', { file: `packer/${TEMPLATE_FILE}`, rule: 'bake.template-layout' }, 2)
  const eol = template.indexOf('\n', start)
  return `${template.slice(0, eol + 1)}  temporary_key_pair_type = "ed25519"\n\n${template.slice(eol + 1)}`
}

export function stageTemplate(packerDir: string, runDir: string, modern: boolean): string {
  if (!modern) return packerDir
  const dir = join(runDir, 'template')
  mkdirSync(dir, { recursive: true })
  for (const name of readdirSync(packerDir)) {
    if (name === TEMPLATE_FILE) continue
    if (name.endsWith('.pkr.hcl') || name === 'scripts' || name === 'files') symlinkSync(join(packerDir, name), join(dir, name))
  }
  const template = readFileSync(join(packerDir, TEMPLATE_FILE), 'utf8')
  const fragment = readFileSync(join(packerDir, 'modern', 'error-cleanup.hcl'), 'utf8')
  writeFileSync(join(dir, TEMPLATE_FILE), withEd25519TemporaryKey(withErrorCleanup(template, fragment)))
  return dir
}
