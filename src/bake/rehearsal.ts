// The offline rehearsal of a real qemu bake (`clawbake bake --rehearsal`):
// everything a production bake reaches over the internet is brought up on
// this machine from Debian's packages and the npm registry, and the bake
// itself runs unchanged against it:
//   - the OpenClaw image, built from `openclaw@<tag>` on npm with the upstream
//     layout, pushed to a real docker-registry on 127.0.0.1 (plain http: what
//     `resolve` verifies the digest on) and served to the VM over https as
//     `ghcr.io` (a second registry process over the same storage, a
//     throw-away CA, qemu guestfwd of a guest address to it), so the VM pulls
//     the production reference ghcr.io/openclaw/openclaw:<tag>@sha256:...;
//   - a Debian 13 cloud base built with mmdebstrap (cached);
//   - the avots stand-in on 127.0.0.1, which the VM reaches as 10.0.2.2;
//   - the image store: the same loopback registry, repository clawbake-images.
// The bake works on a scratch copy of the project tree, so pins, changelog
// and the catalog it publishes land there, never in the checkout.
import { cpSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { QEMU_HOST_ADDR } from '../boottest/vm.ts'
import { startAvotsStandin, type AvotsMode, type AvotsStandin } from '../standins/avots.ts'
import { buildDebianBase } from '../vm/debian-base.ts'
import { buildOpenclawImage } from '../rehearsal/openclaw-image.ts'
import { pushImage, startRegistry, type Registry } from '../rehearsal/registry.ts'
import { usageError } from '../errors.ts'

/** The guest address qemu forwards to the rehearsal registry (ghcr.io as seen from the VM). */
export const REHEARSAL_REGISTRY_ADDR = '10.0.2.100'

export interface Rehearsal {
  /** the scratch project tree the bake runs on */
  root: string
  /** `--image`: where resolve looks the tag up (plain http, loopback) */
  image: string
  /** the index digest the registry holds */
  digest: string
  /** the image store the rehearsal publishes the qcow2 to (the same loopback registry, repository clawbake-images) */
  imageRepo: string
  /** the kernel of the base, for the accelerator probe */
  kernel: string
  /** Packer variables: the base image, the registry trust, the guestfwd */
  packerVars: Record<string, string>
  /** qemu guestfwd rules: guest address:port -> host loopback port */
  guestfwd: { addr: string; port: number; hostPort: number }[]
  /** environment for the bake: the avots stand-in as the VM sees it */
  env: Record<string, string>
  /** the avots stand-in as this machine reaches it (the boot test's recording proxy forwards there) */
  hostAvotsBaseUrl: string
  /** values the captured disk and every output are searched for */
  secrets: { name: string; value: string }[]
  timings: { stage: string; ms: number; detail: string }[]
  stop(): Promise<void>
}

function copyTree(from: string, to: string): void {
  mkdirSync(to, { recursive: true })
  const skip = new Set(['node_modules', '.clawbake', '.git', 'coverage', '.tap'])
  for (const name of readdirSync(from)) if (!skip.has(name)) cpSync(join(from, name), join(to, name), { recursive: true })
}

export async function startRehearsal(opts: {
  tag: string
  projectRoot: string
  runDir: string
  cacheDir: string
  avotsMode?: AvotsMode
  avotsKey?: string
  /** the caller's environment: CLAWBAKE_REHEARSAL_MARKER names the planted marker (else one is made) */
  env?: Record<string, string | undefined>
  log: (line: string) => void
}): Promise<Rehearsal> {
  const timings: Rehearsal['timings'] = []
  const stopAll: (() => Promise<void>)[] = []
  const step = async <T>(stage: string, fn: () => Promise<{ value: T; detail: string }>): Promise<T> => {
    const t0 = Date.now()
    const { value, detail } = await fn()
    timings.push({ stage, ms: Date.now() - t0, detail })
    opts.log(`rehearsal ${stage}: ${detail} (${((Date.now() - t0) / 1000).toFixed(1)} s)`)
    return value
  }
  try {
    const root = join(opts.runDir, 'tree')
    copyTree(opts.projectRoot, root)
    mkdirSync(join(root, 'catalog'), { recursive: true })
    if (!existsSync(join(root, 'catalog', 'releases.json'))) writeFileSync(join(root, 'catalog', 'releases.json'), JSON.stringify({ schemaVersion: 1, releases: [] }, null, 2) + '\n')

    const base = await step('base', async () => {
      const b = await buildDebianBase({ cacheDir: join(opts.cacheDir, 'base'), log: l => opts.log(`  base | ${l}`) })
      return { value: b, detail: `Debian 13 cloud base ${b.cached ? '(cached)' : '(built)'} ${b.qcow2} sha256:${b.sha256.slice(0, 12)}` }
    })

    const image = await step('image', async () => {
      const i = await buildOpenclawImage({ tag: opts.tag, cacheDir: join(opts.cacheDir, 'openclaw-image'), log: l => opts.log(`  image | ${l}`) })
      return { value: i, detail: `OpenClaw ${opts.tag} image from npm ${i.cached ? '(cached)' : '(built)'}` }
    })

    const registries = await step('registry', async () => {
      // its storage is kept beside the scratch tree: what the rehearsal published can be pulled from it again
      // (a registry over registry/, then `clawbake image pull <channel> --from <it>/clawbake-images`)
      const plain: Registry = await startRegistry({ storage: join(opts.runDir, 'registry') })
      stopAll.push(() => plain.stop())
      const digest = await pushImage(image.ref, plain.host, 'openclaw/openclaw', opts.tag)
      const tls: Registry = await startRegistry({ storage: plain.storage, tls: { hostname: 'ghcr.io' } })
      stopAll.push(() => tls.stop())
      return { value: { plain, tls, digest }, detail: `docker-registry ${plain.host} (http, for resolve) and ${tls.host} (https as ghcr.io, for the VM), ${digest}` }
    })

    const avots: AvotsStandin = await step('avots', async () => {
      // the caller's AVOTS_API_KEY when there is one (the stand-in then accepts exactly that key), else one made now
      const a = await startAvotsStandin({ mode: opts.avotsMode ?? 'tool', apiKey: opts.avotsKey || `sk-avots-rehearsal-${randomBytes(18).toString('hex')}` })
      stopAll.push(() => a.close())
      return { value: a, detail: `avots stand-in (${opts.avotsMode ?? 'tool'} mode) on ${new URL(a.baseUrl).host}` }
    })
    const registryPort = registries.tls.port
    const tls = registries.tls
    if (!tls.tls || !tls.caCertPem || !tls.caKeyPem) throw new Error('the rehearsal registry for ghcr.io started without TLS')
    const ca = tls.caCertPem
    const caKey = tls.caKeyPem
    // planted before the scrub where a deleted secret can survive (packer/scripts/plant-markers.sh); the disk is searched for it
    const marker = rehearsalMarker(opts.env ?? {})
    return {
      root,
      image: `${registries.plain.host}/openclaw/openclaw`,
      digest: registries.digest,
      imageRepo: `${registries.plain.host}/clawbake-images`,
      kernel: base.kernel,
      packerVars: {
        ubuntu_image_url: base.qcow2,
        ubuntu_image_checksum: `sha256:${base.sha256}`,
        rehearsal_registry_ca_b64: Buffer.from(ca).toString('base64'),
        rehearsal_registry_addr: REHEARSAL_REGISTRY_ADDR,
      },
      guestfwd: [{ addr: REHEARSAL_REGISTRY_ADDR, port: 443, hostPort: registryPort }],
      hostAvotsBaseUrl: avots.baseUrl,
      env: {
        AVOTS_BASE_URL: avots.baseUrl.replace('127.0.0.1', QEMU_HOST_ADDR),
        AVOTS_API_KEY: avots.apiKey,
        PKR_VAR_rehearsal_marker: marker,
      },
      secrets: [
        { name: 'the rehearsal CA private key', value: caKeyBody(caKey) },
        { name: 'the planted marker (a deleted file, the journal, a container\'s log and layer)', value: marker },
      ],
      timings,
      async stop() {
        for (const s of stopAll.reverse()) await s().catch(() => {})
      },
    }
  } catch (e) {
    for (const s of stopAll.reverse()) await s().catch(() => {})
    throw e
  }
}

/** The base64 body of a PEM private key, first line: what a disk search looks for (the PEM header is not secret). */
export function caKeyBody(pem: string): string {
  const body = pem.split('\n').filter(l => l && !l.startsWith('-----'))
  return (body[0] ?? '').slice(0, 48)
}

/** The marker a rehearsal plants before the scrub: CLAWBAKE_REHEARSAL_MARKER (24-128 of [A-Za-z0-9._-]), else a new one. */
export function rehearsalMarker(env: Record<string, string | undefined>): string {
  const given = env.CLAWBAKE_REHEARSAL_MARKER
  if (given === undefined || given === '') return `clawbake-planted-${randomBytes(18).toString('hex')}`
  if (!/^[A-Za-z0-9._-]{24,128}$/.test(given)) throw usageError(`CLAWBAKE_REHEARSAL_MARKER must be 24-128 characters of A-Z a-z 0-9 . _ -, got ${given.length} character(s)`, 'rehearsal.marker')
  return given
}
