// A real OCI registry for tests: a thin layer over src/rehearsal/registry.ts
// (Debian's docker-registry, distribution 2.8, on 127.0.0.1 with temp
// storage) that adds the token stand-in for token mode and ties every
// registry to the test's teardown; plus test images built from scratch as
// OCI image layouts and pushed with the real `skopeo copy --all`.
// Reusable: `startRegistry`, `buildImage`, `pushImage`, `skopeoRawDigest`.
import { createHash, randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { startTokenServer, type TokenServer } from '../standins/registry-token.ts'
import { pushImage as skopeoPush, registryRawDigest, REPOSITORY, startRegistry as startDockerRegistry, type RegistryAuth } from '../../src/rehearsal/registry.ts'
import type { Daemon } from '../../src/proc/run.ts'
import { tarHeader, tarTrailer } from '../../src/store/disk-image.ts'

export { REPOSITORY }

export const MEDIA = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar+gzip',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  inToto: 'application/vnd.in-toto+json',
} as const

export type AuthMode = 'none' | 'token' | 'htpasswd'

export interface Registry {
  /** `127.0.0.1:<port>` */
  host: string
  /** `127.0.0.1:<port>/openclaw/openclaw`: what `--image` takes */
  image: string
  storage: string
  auth: AuthMode
  /** credentials accepted for push (token and htpasswd modes) */
  user: string
  password: string
  /** the token stand-in, in token mode */
  token?: TokenServer
  /** the docker-registry process */
  proc: Daemon
  stop(): Promise<void>
}

export interface Teardown { teardown(fn: () => void | Promise<void>): void }

function tempDir(t: Teardown | null, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  t?.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

const registryDirs = new Set<string>()

/**
 * Start `docker-registry serve` on a free 127.0.0.1 port. Pass `storage` to
 * serve images another registry pushed (the same filesystem storage), e.g.
 * push once anonymously, then serve the same bytes in token or htpasswd mode.
 */
export async function startRegistry(t: Teardown | null, opts: { auth?: AuthMode; storage?: string; user?: string; password?: string } = {}): Promise<Registry> {
  const mode = opts.auth ?? 'none'
  // removed after the registry stopped (and at exit: a registry still serving this storage
  // from another test may recreate the storage root after the teardown removed it)
  const dir = mkdtempSync(join(tmpdir(), 'clawbake-registry-test-'))
  const removeDir = () => rmSync(dir, { recursive: true, force: true })
  if (registryDirs.size === 0) process.once('exit', () => { for (const d of registryDirs) rmSync(d, { recursive: true, force: true }) })
  registryDirs.add(dir)
  const storage = opts.storage ?? join(dir, 'storage')
  const user = opts.user ?? 'pusher'
  const password = opts.password ?? randomBytes(12).toString('hex')
  let token: TokenServer | undefined
  let auth: RegistryAuth = { kind: 'none' }
  if (mode === 'token') {
    token = await startTokenServer({ dir, service: 'clawbake-test-registry', issuer: 'clawbake-test-issuer', users: { [user]: password } })
    auth = { kind: 'token', realm: token.realm, service: token.service, issuer: token.issuer, rootCertBundle: token.certFile }
  } else if (mode === 'htpasswd') {
    auth = { kind: 'htpasswd', user, password, realm: 'clawbake-test' }
  }
  let reg
  try {
    reg = await startDockerRegistry({ storage, auth })
  } catch (e) {
    await token?.stop()
    removeDir()
    throw e
  }
  const stop = async () => {
    await reg.stop()
    await token?.stop()
    removeDir()
  }
  t?.teardown(stop)
  return { host: reg.host, image: `${reg.host}/${REPOSITORY}`, storage, auth: mode, user, password, ...(token ? { token } : {}), proc: reg.daemon, stop }
}

// ---------------------------------------------------------------- images

export interface Descriptor {
  mediaType: string
  digest: string
  size: number
  platform?: { os: string; architecture: string; variant?: string }
  annotations?: Record<string, string>
}

export interface BuiltImage {
  /** the OCI layout directory (`oci:<dir>:<tag>`) */
  dir: string
  tag: string
  /** digest of the top-level manifest (index, list or single manifest) */
  digest: string
  mediaType: string
  /** per-platform manifests (attestations excluded) */
  platforms: { os: string; architecture: string; variant?: string; digest: string }[]
  /** attestation manifests in the index */
  attestations: string[]
  /** the raw bytes of the top-level manifest */
  raw: Buffer
  /** skopeo source: `oci:<dir>:<tag>` (OCI kinds) or `dir:<dir>` (Docker kinds) */
  transport: string
}

export type ImageKind = 'oci-index' | 'oci-single' | 'docker-list' | 'docker-single'

export interface ImageSpec {
  tag: string
  kind?: ImageKind
  /** platforms of an index/list; the single kinds use the first */
  platforms?: { os: string; architecture: string; variant?: string }[]
  /** add a BuildKit-style attestation manifest per platform (OCI index only) */
  attestation?: boolean
}

function sha256(b: Buffer | string): string {
  return 'sha256:' + createHash('sha256').update(b).digest('hex')
}

/** A one-file ustar archive (the header clawbake's image store writes, its padding and end-of-archive). */
export function tarOneFile(name: string, content: Buffer): Buffer {
  return Buffer.concat([tarHeader(name, content.length), content, tarTrailer(content.length)])
}

/**
 * Write an OCI image layout for `spec` under `root` (a fresh dir per image):
 * blobs/sha256/*, index.json with `org.opencontainers.image.ref.name` = tag.
 * Content depends on the tag, so each tag has its own digests.
 */
export function buildImage(root: string, spec: ImageSpec): BuiltImage {
  const kind = spec.kind ?? 'oci-index'
  const docker = kind.startsWith('docker')
  const dir = join(root, `${spec.tag}-${kind}`)
  mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true })
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }))
  const blob = (data: Buffer | string, mediaType: string, extra: Partial<Descriptor> = {}): Descriptor => {
    const bytes = Buffer.isBuffer(data) ? data : Buffer.from(data)
    const digest = sha256(bytes)
    writeFileSync(join(dir, 'blobs', 'sha256', digest.slice(7)), bytes)
    return { mediaType, digest, size: bytes.length, ...extra }
  }
  const platforms = spec.platforms ?? (kind.endsWith('single')
    ? [{ os: 'linux', architecture: 'amd64' }]
    : [{ os: 'linux', architecture: 'amd64' }, { os: 'linux', architecture: 'arm64', variant: 'v8' }])

  const manifestFor = (p: { os: string; architecture: string; variant?: string }): Descriptor => {
    const tar = tarOneFile('openclaw-version', Buffer.from(`openclaw ${spec.tag} ${p.os}/${p.architecture}${p.variant ? '/' + p.variant : ''}\n`))
    const layer = blob(gzipSync(tar, { level: 9 }), docker ? MEDIA.dockerLayer : MEDIA.ociLayer)
    const config = blob(JSON.stringify({
      architecture: p.architecture,
      os: p.os,
      ...(p.variant ? { variant: p.variant } : {}),
      config: { User: '1000', WorkingDir: '/app', Labels: { 'org.opencontainers.image.version': spec.tag } },
      rootfs: { type: 'layers', diff_ids: [sha256(tar)] },
    }), docker ? MEDIA.dockerConfig : MEDIA.ociConfig)
    const mediaType = docker ? MEDIA.dockerManifest : MEDIA.ociManifest
    return blob(JSON.stringify({ schemaVersion: 2, mediaType, config, layers: [layer] }, null, 3), mediaType, {
      platform: { os: p.os, architecture: p.architecture, ...(p.variant ? { variant: p.variant } : {}) },
    })
  }

  const attestations: string[] = []
  let top: Descriptor
  const platformDigests = [] as BuiltImage['platforms']
  if (kind.endsWith('single')) {
    const m = manifestFor(platforms[0]!)
    delete m.platform
    top = m
    platformDigests.push({ ...platforms[0]!, digest: m.digest })
  } else {
    const manifests: Descriptor[] = []
    for (const p of platforms) {
      const m = manifestFor(p)
      manifests.push(m)
      platformDigests.push({ ...p, digest: m.digest })
    }
    if (spec.attestation && !docker) {
      for (const m of [...manifests]) {
        const statement = blob(JSON.stringify({ _type: 'https://in-toto.io/Statement/v0.1', predicateType: 'https://slsa.dev/provenance/v0.2', subject: [{ name: spec.tag, digest: { sha256: m.digest.slice(7) } }], predicate: {} }), MEDIA.inToto, {
          annotations: { 'in-toto.io/predicate-type': 'https://slsa.dev/provenance/v0.2' },
        })
        const config = blob(JSON.stringify({ architecture: 'unknown', os: 'unknown', config: {}, rootfs: { type: 'layers', diff_ids: [statement.digest] } }), MEDIA.ociConfig)
        const att = blob(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.ociManifest, config, layers: [statement] }), MEDIA.ociManifest, {
          platform: { os: 'unknown', architecture: 'unknown' },
          annotations: { 'vnd.docker.reference.digest': m.digest, 'vnd.docker.reference.type': 'attestation-manifest' },
        })
        manifests.push(att)
        attestations.push(att.digest)
      }
    }
    const mediaType = docker ? MEDIA.dockerList : MEDIA.ociIndex
    top = blob(JSON.stringify({ schemaVersion: 2, mediaType, manifests }, null, 2), mediaType)
  }
  if (docker) {
    // skopeo's oci: transport only takes OCI media types at the top; Docker
    // manifests go through the dir: transport (manifest.json at the top,
    // <hex>.manifest.json per instance, blobs named by their hex digest).
    const blobs = join(dir, 'blobs', 'sha256')
    writeFileSync(join(dir, 'version'), 'Directory Transport Version: 1.1\n')
    for (const f of readdirSync(blobs)) writeFileSync(join(dir, f), readFileSync(join(blobs, f)))
    writeFileSync(join(dir, 'manifest.json'), readFileSync(join(blobs, top.digest.slice(7))))
    if (!kind.endsWith('single')) {
      for (const p of platformDigests) writeFileSync(join(dir, `${p.digest.slice(7)}.manifest.json`), readFileSync(join(blobs, p.digest.slice(7))))
    }
  }
  writeFileSync(join(dir, 'index.json'), JSON.stringify({
    schemaVersion: 2,
    manifests: [{ mediaType: top.mediaType, digest: top.digest, size: top.size, annotations: { 'org.opencontainers.image.ref.name': spec.tag } }],
  }))
  const raw = readFileSync(join(dir, 'blobs', 'sha256', top.digest.slice(7)))
  return { dir, tag: spec.tag, digest: top.digest, mediaType: top.mediaType, platforms: platformDigests, attestations, raw, transport: docker ? `dir:${dir}` : `oci:${dir}:${spec.tag}` }
}

/** `skopeo copy --all` the image to `<host>/openclaw/openclaw:<tag>`, keeping every digest. */
export async function pushImage(image: BuiltImage, host: string, creds?: { user: string; password: string }): Promise<void> {
  await skopeoPush(image.transport, host, REPOSITORY, image.tag, { timeoutMs: 60000, ...(creds ? { creds } : {}) })
}

/** `skopeo inspect --raw ... | sha256sum`: the digest of the bytes skopeo got, independently of clawbake. */
export async function skopeoRawDigest(host: string, tag: string, creds?: { user: string; password: string }): Promise<string> {
  return await registryRawDigest(host, REPOSITORY, tag, { timeoutMs: 60000, ...(creds ? { creds } : {}) })
}

/** A temp dir for image layouts, removed on teardown. */
export function imageRoot(t: Teardown | null): string {
  return tempDir(t, 'clawbake-images-')
}
