// What a bake needs on this machine, checked before anything is written:
// every missing piece in ONE message that says how to get it (exit 2).
import { existsSync } from 'node:fs'
import { lookup } from 'node:dns/promises'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { envError } from '../errors.ts'
import { packerInfo, type Builder } from './packer.ts'
import { debianPackageOf, which } from '../proc/run.ts'

export interface Missing {
  /** short id: packer, AVOTS_API_KEY, qemu-system-x86_64, network, ... */
  id: string
  what: string
  how: string
}

export interface PrerequisiteInput {
  builder: Builder
  env: Record<string, string | undefined>
  /** hosts the bake will talk to (registry, Ubuntu image mirror); loopback and IPs are not looked up */
  hosts: string[]
  /** DNS lookup; tests pass a stand-in */
  resolveHost?: (host: string) => Promise<void>
}

const SETUP = 'run `npm run setup` (scripts/setup.sh bake)'

async function defaultResolveHost(host: string): Promise<void> {
  await Promise.race([
    lookup(host),
    new Promise((_, reject) => setTimeout(() => reject(new Error('timed out')), 5000).unref()),
  ])
}

function isLiteralOrLoopback(host: string): boolean {
  return host === 'localhost' || /^[0-9.]+$/.test(host) || host.includes(':') || host.startsWith('[')
}

export async function missingPrerequisites(input: PrerequisiteInput): Promise<Missing[]> {
  const { env, builder } = input
  const missing: Missing[] = []
  if (!which(env.CLAWBAKE_PACKER ?? 'packer', env)) {
    missing.push({ id: 'packer', what: 'packer', how: `${SETUP}, or \`sudo apt-get install packer\` (Debian 1.6.6 works); with HashiCorp Packer >= 1.8 also run \`bash packer/plugins-install.sh\`` })
  }
  if (!env.AVOTS_API_KEY) {
    missing.push({ id: 'AVOTS_API_KEY', what: 'AVOTS_API_KEY', how: 'export AVOTS_API_KEY=<your avots.ai key> (the avots-smoke gate calls the model gateway; the key is scrubbed from the image)' })
  }
  if (builder === 'qemu') {
    if (!which('qemu-system-x86_64', env)) missing.push({ id: 'qemu-system-x86_64', what: 'qemu-system-x86_64', how: `${SETUP}, or \`sudo apt-get install ${debianPackageOf('qemu-system-x86_64')}\`` })
    if (!which('qemu-img', env)) missing.push({ id: 'qemu-img', what: 'qemu-img', how: `${SETUP}, or \`sudo apt-get install ${debianPackageOf('qemu-img')}\`` })
    if (!['xorriso', 'mkisofs', 'genisoimage'].some(t => which(t, env))) missing.push({ id: 'xorriso', what: 'xorriso (builds the cidata seed CD)', how: `${SETUP}, or \`sudo apt-get install ${debianPackageOf('xorriso')}\`` })
    if (!which('ssh-keygen', env)) missing.push({ id: 'ssh-keygen', what: 'ssh-keygen', how: `${SETUP}, or \`sudo apt-get install ${debianPackageOf('ssh-keygen')}\`` })
  }
  if (builder === 'amazon-ebs') {
    const bin = which(env.CLAWBAKE_PACKER ?? 'packer', env)
    const version = bin ? await packerInfo(bin, env).catch(() => null) : null
    if (version && !version.modern) {
      missing.push({
        id: 'packer-version',
        what: `packer ${version.version} cannot log in to Ubuntu 24.04 on EC2`,
        how: 'install HashiCorp Packer >= 1.8 and run `bash packer/plugins-install.sh` (the amazon plugin in packer/plugins.txt). Packer 1.6 signs in to the build instance with a temporary RSA key over SHA-1 (ssh-rsa), which OpenSSH 9 on Ubuntu 24.04 refuses, so the bake would wait for SSH until it times out; the staged template for Packer >= 1.7 asks EC2 for an ed25519 temporary key (temporary_key_pair_type)',
      })
    }
    const creds = (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) || env.AWS_PROFILE || env.AWS_WEB_IDENTITY_TOKEN_FILE ||
      existsSync(join(env.HOME ?? homedir(), '.aws', 'credentials'))
    if (!creds) missing.push({ id: 'aws-credentials', what: 'AWS credentials', how: 'export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) for an account that may run EC2 instances and register AMIs' })
  }
  const resolveHost = input.resolveHost ?? defaultResolveHost
  for (const host of [...new Set(input.hosts)].filter(h => h && !isLiteralOrLoopback(h))) {
    try {
      await resolveHost(host)
    } catch (e) {
      missing.push({ id: 'network', what: `network: cannot resolve ${host} (${(e as Error).message})`, how: 'connect this machine to the internet, or point the bake at a mirror (--image, ubuntu_image_url)' })
    }
  }
  return missing
}

export function describeMissing(builder: Builder, missing: Missing[]): string {
  return [`missing prerequisites for \`clawbake bake --builder ${builder}\`:`, ...missing.map(m => `  - ${m.what}: ${m.how}`)].join('\n')
}

export async function assertPrerequisites(input: PrerequisiteInput): Promise<void> {
  const missing = await missingPrerequisites(input)
  if (missing.length) throw envError(describeMissing(input.builder, missing), { field: missing.map(m => m.id).join(','), rule: 'bake.prerequisites' })
}
