// The NoCloud seed of the qemu build VM (cd label `cidata`): a throw-away SSH
// key per bake whose public half goes into user-data. Packer 1.6.6 has
// cd_files but no cd_content, so the seed is two files in the run directory.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { runOk } from '../proc/run.ts'

export const BUILD_USER = 'clawbake'
export const BUILD_UID = 2000

export function userData(publicKey: string): string {
  return [
    '#cloud-config',
    '# clawbake build VM only: the build user is removed and cloud-init is',
    '# cleaned before the image is captured (packer/scripts/scrub.sh).',
    'users:',
    `  - name: ${BUILD_USER}`,
    // not 1000: that uid belongs to the container (packer/scripts/files.sh reserves it)
    `    uid: ${BUILD_UID}`,
    '    groups: [sudo]',
    '    sudo: "ALL=(ALL) NOPASSWD:ALL"',
    '    shell: /bin/bash',
    '    lock_passwd: true',
    '    ssh_authorized_keys:',
    `      - ${JSON.stringify(publicKey.trim())}`,
    'ssh_pwauth: false',
    'disable_root: true',
    '',
  ].join('\n')
}

export function metaData(bakeId: string): string {
  return `instance-id: clawbake-${bakeId}\nlocal-hostname: clawbake-build\n`
}

export interface Seed {
  dir: string
  privateKey: string
  publicKey: string
}

export async function writeSeed(runDir: string, bakeId: string): Promise<Seed> {
  const dir = join(runDir, 'seed')
  const sshDir = join(runDir, 'ssh')
  mkdirSync(dir, { recursive: true })
  mkdirSync(sshDir, { recursive: true, mode: 0o700 })
  const privateKey = join(sshDir, 'id_ed25519')
  await runOk('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `clawbake-bake-${bakeId}`, '-f', privateKey], { rule: 'bake.seed-key' })
  const publicKey = readFileSync(`${privateKey}.pub`, 'utf8')
  writeFileSync(join(dir, 'user-data'), userData(publicKey))
  writeFileSync(join(dir, 'meta-data'), metaData(bakeId))
  return { dir, privateKey, publicKey }
}
