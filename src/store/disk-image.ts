// The golden image as an OCI image, KubeVirt containerDisk style: one layer, a
// tar holding the qcow2 under `disk/` (owned by 107:107, the qemu user of
// KubeVirt's virt-launcher), so `kubectl` users can run it as a containerDisk
// and anyone can `skopeo copy` / `oras pull` it as is.
//
// One choice differs from `docker build` of a containerDisk: the layer is an
// UNCOMPRESSED tar (application/vnd.oci.image.layer.v1.tar, which containerd,
// CRI-O and skopeo accept). A qcow2 is already compressed where it can be;
// gzip over a GiB costs minutes of CPU for a few percent; and without gzip a
// byte offset in the layer is a byte offset in the qcow2, so a pull resumes
// with a Range request and writes the qcow2 directly. The tar is never
// written to disk: it is the 512-byte header, the qcow2 itself, and the
// padding plus end-of-archive blocks, streamed. Everything in the layer and
// the config is deterministic (mtime 0), so an unchanged qcow2 is the same
// layer and is never uploaded twice; only the manifest (annotations: bake id,
// time) is new per bake.
import { createHash } from 'node:crypto'
import { createReadStream, statSync } from 'node:fs'
import { Readable } from 'node:stream'
import { ClawbakeError } from '../errors.ts'
import { sideHash } from './side-hash.ts'
import { sha256Digest } from '../registry/manifest.ts'
import { OCI_CONFIG, OCI_MANIFEST } from '../registry/media.ts'

export const LAYER_TAR = 'application/vnd.oci.image.layer.v1.tar'
/** the qcow2's path inside the layer */
export const DISK_PATH = 'disk/disk.qcow2'
const QEMU_UID = 107

/** Annotation keys of the image manifest. */
export const ANNOTATION = {
  title: 'org.opencontainers.image.title',
  version: 'org.opencontainers.image.version',
  created: 'org.opencontainers.image.created',
  openclawTag: 'dev.clawbake.openclaw.tag',
  openclawDigest: 'dev.clawbake.openclaw.index-digest',
  channel: 'dev.clawbake.channel',
  bakeId: 'dev.clawbake.bake-id',
  gates: 'dev.clawbake.gates',
  diskSha256: 'dev.clawbake.disk.sha256',
  diskSize: 'dev.clawbake.disk.size',
  diskPath: 'dev.clawbake.disk.path',
} as const

/** A ustar header for one regular file; sizes of 8 GiB and more in GNU base-256. */
export function tarHeader(name: string, size: number, opts: { mode?: number; uid?: number; gid?: number; mtime?: number } = {}): Buffer {
  if (Buffer.byteLength(name) > 100) throw new ClawbakeError(`tar entry name "${name}" is longer than 100 bytes`, { field: 'name', rule: 'store.tar-name' }, 2)
  const header = Buffer.alloc(512)
  const put = (s: string, off: number, len: number) => header.write(s.slice(0, len), off, len, 'ascii')
  const octal = (n: number, len: number) => n.toString(8).padStart(len - 1, '0') + '\0'
  put(name, 0, 100)
  put(octal(opts.mode ?? 0o644, 8), 100, 8)
  put(octal(opts.uid ?? 0, 8), 108, 8)
  put(octal(opts.gid ?? 0, 8), 116, 8)
  if (size < 8 ** 11) put(octal(size, 12), 124, 12)
  else {
    header[124] = 0x80
    let n = BigInt(size)
    for (let i = 135; i > 124; i--) {
      header[i] = Number(n & 0xffn)
      n >>= 8n
    }
  }
  put(octal(opts.mtime ?? 0, 12), 136, 12)
  header.fill(' ', 148, 156)
  put('0', 156, 1)
  put('ustar\0', 257, 6)
  put('00', 263, 2)
  let sum = 0
  for (const b of header) sum += b
  put(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8)
  return header
}

/** Size of the file a ustar header describes (octal or base-256). */
export function tarEntrySize(header: Buffer): number {
  if ((header[124] ?? 0) & 0x80) {
    let n = 0n
    for (let i = 125; i < 136; i++) n = (n << 8n) | BigInt(header[i] ?? 0)
    return Number(n)
  }
  return parseInt(header.subarray(124, 136).toString('ascii').replace(/\0.*$/s, '').trim() || '0', 8)
}

export function tarEntryName(header: Buffer): string {
  return header.subarray(0, 100).toString('utf8').replace(/\0.*$/s, '')
}

/** Padding to the 512-byte block plus the two zero blocks that end an archive. */
export function tarTrailer(size: number): Buffer {
  return Buffer.alloc(((512 - (size % 512)) % 512) + 1024)
}

export interface DiskLayer {
  file: string
  /** qcow2 bytes */
  size: number
  /** hex sha256 of the qcow2 */
  sha256: string
  header: Buffer
  trailer: Buffer
  /** the layer (tar) */
  digest: string
  layerSize: number
}

/** One read of the qcow2: its sha256 and the digest of the tar layer around it. */
export async function describeDisk(file: string): Promise<DiskLayer> {
  const size = statSync(file).size
  const header = tarHeader(DISK_PATH, size, { uid: QEMU_UID, gid: QEMU_UID, mode: 0o644 })
  const trailer = tarTrailer(size)
  // the qcow2's digest on a worker thread, the layer's here: one read, two cores
  const disk = sideHash()
  const layer = createHash('sha256').update(header)
  let seen = 0
  try {
    for await (const chunk of createReadStream(file, { highWaterMark: 4 << 20 })) {
      const wait = disk.update(chunk as Buffer)
      layer.update(chunk as Buffer)
      seen += (chunk as Buffer).length
      if (wait) await wait
    }
  } catch (e) {
    disk.close()
    throw e
  }
  if (seen !== size) {
    disk.close()
    throw new ClawbakeError(`changed while being read (${seen} bytes read, ${size} expected)`, { file, rule: 'store.disk-changed' }, 1)
  }
  layer.update(trailer)
  return { file, size, sha256: await disk.digest(), header, trailer, digest: 'sha256:' + layer.digest('hex'), layerSize: header.length + size + trailer.length }
}

/** Bytes [start, end) of the layer: header, qcow2, trailer, as a stream. */
export function layerRange(d: DiskLayer, start: number, end: number): Readable {
  const h = d.header.length
  const parts: (() => AsyncIterable<Buffer> | Buffer[])[] = []
  if (start < h) parts.push(() => [d.header.subarray(start, Math.min(end, h))])
  const fs = Math.max(start, h) - h
  const fe = Math.min(end, h + d.size) - h
  if (fe > fs) parts.push(() => createReadStream(d.file, { start: fs, end: fe - 1, highWaterMark: 4 << 20 }))
  const ts = Math.max(start, h + d.size) - h - d.size
  const te = end - h - d.size
  if (te > ts) parts.push(() => [d.trailer.subarray(ts, te)])
  return Readable.from((async function* () {
    for (const p of parts) for await (const chunk of p()) yield chunk as Buffer
  })())
}

export interface ImageMeta {
  tag: string
  indexDigest: string
  channel: string
  bakeId: string
  /** e.g. "10/10 passed: config-valid, doctor, ..." */
  gates: string
  created: string
}

export interface DiskImage {
  layer: DiskLayer
  config: Buffer
  configDigest: string
  manifest: Buffer
  manifestDigest: string
  annotations: Record<string, string>
}

/** The config (deterministic: the same disk gives the same config blob) and the annotated manifest. */
export function diskImage(layer: DiskLayer, meta: ImageMeta): DiskImage {
  const config = Buffer.from(JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    config: {},
    rootfs: { type: 'layers', diff_ids: [layer.digest] },
  }))
  const configDigest = sha256Digest(config)
  const annotations: Record<string, string> = {
    [ANNOTATION.title]: `clawbake golden image, OpenClaw ${meta.tag}`,
    [ANNOTATION.version]: meta.tag,
    [ANNOTATION.created]: meta.created,
    [ANNOTATION.openclawTag]: meta.tag,
    [ANNOTATION.openclawDigest]: meta.indexDigest,
    [ANNOTATION.channel]: meta.channel,
    [ANNOTATION.bakeId]: meta.bakeId,
    [ANNOTATION.gates]: meta.gates,
    [ANNOTATION.diskSha256]: layer.sha256,
    [ANNOTATION.diskSize]: String(layer.size),
    [ANNOTATION.diskPath]: DISK_PATH,
  }
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: OCI_CONFIG, digest: configDigest, size: config.length },
    layers: [{ mediaType: LAYER_TAR, digest: layer.digest, size: layer.layerSize, annotations: { [ANNOTATION.title]: DISK_PATH } }],
    annotations,
  }, null, 2))
  return { layer, config, configDigest, manifest, manifestDigest: sha256Digest(manifest), annotations }
}

/** The disk layer descriptor of a pulled manifest, checked against what clawbake pushes. */
export function diskLayerOf(json: Record<string, unknown>, where: { file: string; what: string }): { digest: string; size: number; annotations: Record<string, string> } {
  const fail = (m: string) => new ClawbakeError(`${where.what}: ${m}`, { file: where.file, rule: 'store.not-a-disk-image' }, 1)
  const layers = json.layers as { mediaType?: unknown; digest?: unknown; size?: unknown }[] | undefined
  if (!Array.isArray(layers) || layers.length !== 1) throw fail(`expected one layer, found ${Array.isArray(layers) ? layers.length : 'none'}`)
  const l = layers[0]!
  if (l.mediaType !== LAYER_TAR) throw fail(`layer mediaType ${JSON.stringify(l.mediaType)} is not ${LAYER_TAR}`)
  if (typeof l.digest !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(l.digest) || typeof l.size !== 'number' || !Number.isSafeInteger(l.size)) throw fail('layer digest or size malformed')
  const a = json.annotations
  return { digest: l.digest, size: l.size, annotations: (a && typeof a === 'object' ? a : {}) as Record<string, string> }
}
