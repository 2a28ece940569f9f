// Pull a golden image from the store: the manifest by digest (verified
// against the catalog), the disk layer streamed with Range requests (resumed
// after a dropped connection, and across runs from `.<out>.partial`), the
// qcow2 written straight from the layer, and nothing believed until the
// layer digest and the qcow2 sha256 from the catalog both match. The file
// appears at `out` only then, fsync'd and renamed (src/atomic.ts).
import { createHash } from 'node:crypto'
import { createReadStream, existsSync, readFileSync, rmSync, statSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { commitFileAtomic, writeJsonAtomic } from '../atomic.ts'
import { ClawbakeError } from '../errors.ts'
import { fetchManifest } from '../registry/push.ts'
import { newSession } from '../registry/resolve.ts'
import { redact, type RegistrySession } from '../registry/session.ts'
import type { StoreRecord } from '../publish/catalog.ts'
import { ANNOTATION, diskLayerOf, tarEntryName, tarEntrySize } from './disk-image.ts'
import { storeTarget } from './push.ts'
import { sideHash } from './side-hash.ts'

export interface PullRequest {
  store: StoreRecord
  out: string
  env: Record<string, string | undefined>
  session?: RegistrySession
  /** (bytes of the layer so far, layer size, where this run started) */
  onProgress?: (done: number, total: number, from: number) => void
}

export interface PullResult {
  out: string
  reference: string
  manifestDigest: string
  layerDigest: string
  sha256: string
  sizeBytes: number
  /** qcow2 bytes already on disk from an interrupted pull */
  resumedFrom: number
  /** layer bytes received in this run */
  bytesDownloaded: number
  /** connections that dropped and were resumed with Range in this run */
  resumes: number
  ms: number
}

export function partialPaths(out: string): { partial: string; state: string } {
  const partial = join(dirname(out), `.${basename(out)}.partial`)
  return { partial, state: `${partial}.json` }
}

interface PartialState { layerDigest: string; header: string }

/** qcow2 bytes gathered before one write */
const WRITE_BATCH = 8 << 20

function refuse(rule: string, message: string, file: string, exitCode: 1 | 2 = 1): ClawbakeError {
  return new ClawbakeError(message, { file, rule }, exitCode)
}

export async function pullDiskImage(req: PullRequest): Promise<PullResult> {
  const t0 = Date.now()
  const { store, out } = req
  const session = req.session ?? newSession(req.env)
  const target = storeTarget(store.repository, 'pull', `${store.repository}@${store.manifestDigest}`)
  const manifest = await fetchManifest(session, target, store.manifestDigest, store.manifestDigest)
  const where = { file: `${store.repository}@${store.manifestDigest}`, what: target.what }
  const layer = diskLayerOf(manifest.json, where)
  if (layer.digest !== store.layerDigest) throw refuse('store.layer-mismatch', `the manifest names layer ${layer.digest}, the catalog recorded ${store.layerDigest}`, where.file)
  if (layer.annotations[ANNOTATION.diskSha256] !== store.sha256 || layer.annotations[ANNOTATION.diskSize] !== String(store.sizeBytes)) {
    throw refuse('store.annotation-mismatch', `the manifest says the qcow2 is ${layer.annotations[ANNOTATION.diskSha256]} (${layer.annotations[ANNOTATION.diskSize]} bytes), the catalog recorded ${store.sha256} (${store.sizeBytes})`, where.file)
  }

  const { partial, state } = partialPaths(out)
  let header: Buffer | null = null
  let have = 0
  if (existsSync(partial) && existsSync(state)) {
    try {
      const s = JSON.parse(readFileSync(state, 'utf8')) as PartialState
      if (s.layerDigest === layer.digest) {
        header = Buffer.from(s.header, 'base64')
        have = Math.min(statSync(partial).size, store.sizeBytes)
      }
    } catch { /* unreadable state: start again */ }
  }
  if (!header) {
    rmSync(partial, { force: true })
    rmSync(state, { force: true })
    have = 0
  }
  const resumedFrom = have
  const layerHash = createHash('sha256')
  // the qcow2's digest on a worker thread, the layer's here
  const diskHash = sideHash()
  if (header && have > 0) {
    layerHash.update(header)
    let read = 0
    try {
      for await (const chunk of createReadStream(partial, { end: have - 1, highWaterMark: 4 << 20 })) {
        layerHash.update(chunk as Buffer)
        await diskHash.update(chunk as Buffer)
        read += (chunk as Buffer).length
      }
    } catch (e) {
      diskHash.close()
      throw e
    }
    if (read !== have) have = read
  } else if (header) layerHash.update(header)

  const fh = await open(partial, header ? 'r+' : 'w').catch((e: unknown) => { diskHash.close(); throw e })
  let downloaded = 0
  let resumes = 0
  const total = layer.size
  // layer offset reached: header (512) + qcow2 bytes written + trailer bytes hashed
  let offset = header ? 512 + have : 0
  let pendingHeader: Buffer[] = []
  let diskSize = header ? tarEntrySize(header) : -1
  try {
    if (header) await fh.truncate(have)
    // the transfer starts now: a progress rate is measured from here
    req.onProgress?.(offset, total, 512 + resumedFrom)
    let failures = 0
    // qcow2 bytes received but not yet written: written together (one writev per ~8 MiB, not one write per socket read)
    let pending: Buffer[] = []
    let pendingBytes = 0
    let pendingAt = 0
    const flush = async () => {
      if (!pendingBytes) return
      const parts = pending
      const at = pendingAt
      pending = []
      pendingBytes = 0
      await fh.writev(parts, at)
    }
    while (offset < total) {
      const from = offset
      let reply
      try {
        reply = await session.stream(target, `blobs/${layer.digest}`, from > 0 ? { range: `bytes=${from}-` } : {})
      } catch (e) {
        if (e instanceof ClawbakeError) throw e
        if (++failures > session.retries) throw refuse('registry.network', `cannot reach the registry for ${target.what}: ${(e as Error).message}`, where.file, 2)
        continue
      }
      let skip = 0
      if (reply.status === 206) {
        const m = /^bytes (\d+)-/.exec(reply.headers['content-range'] ?? '')
        if (!m || Number(m[1]) !== from) {
          reply.body.destroy()
          throw refuse('registry.range-mismatch', `asked for bytes from ${from}, the registry sent Content-Range ${reply.headers['content-range'] ?? '(none)'}`, redact(reply.url))
        }
      } else if (reply.status === 200) {
        skip = from // the registry ignored Range: read past what we have
      } else {
        reply.body.destroy()
        if ([429, 500, 502, 503, 504].includes(reply.status) && ++failures <= session.retries) continue
        throw refuse(reply.status === 404 ? 'registry.not-found' : 'registry.http-error', `registry answered HTTP ${reply.status} for layer ${layer.digest} of ${target.what}`, redact(reply.url), reply.status === 404 ? 1 : 2)
      }
      try {
        for await (const raw of reply.body) {
          let chunk = raw as Buffer
          if (skip) {
            const n = Math.min(skip, chunk.length)
            skip -= n
            chunk = chunk.subarray(n)
            if (!chunk.length) continue
          }
          if (offset + chunk.length > total) throw refuse('registry.too-large', `the layer is longer than the ${total} bytes its descriptor says`, redact(reply.url))
          downloaded += chunk.length
          // the tar header
          if (offset < 512) {
            const n = Math.min(512 - offset, chunk.length)
            pendingHeader.push(chunk.subarray(0, n))
            offset += n
            chunk = chunk.subarray(n)
            if (offset === 512) {
              header = Buffer.concat(pendingHeader)
              pendingHeader = []
              diskSize = tarEntrySize(header)
              const name = tarEntryName(header)
              if (!name.startsWith('disk/') || !name.endsWith('.qcow2') || header[156] !== 0x30 || diskSize !== store.sizeBytes) {
                throw refuse('store.not-a-disk-image', `the layer's first entry is "${name}" (${diskSize} bytes), not disk/*.qcow2 of ${store.sizeBytes} bytes`, where.file)
              }
              layerHash.update(header)
              writeJsonAtomic(state, { layerDigest: layer.digest, header: header.toString('base64') } satisfies PartialState)
            }
            if (!chunk.length) continue
          }
          // the qcow2
          const diskEnd = 512 + diskSize
          if (offset < diskEnd) {
            const n = Math.min(diskEnd - offset, chunk.length)
            const part = chunk.subarray(0, n)
            if (!pendingBytes) pendingAt = offset - 512
            pending.push(part)
            pendingBytes += n
            if (pendingBytes >= WRITE_BATCH || offset + n === diskEnd) await flush()
            layerHash.update(part)
            const wait = diskHash.update(part)
            if (wait) await wait
            offset += n
            chunk = chunk.subarray(n)
          }
          // padding and end-of-archive
          if (chunk.length) {
            layerHash.update(chunk)
            offset += chunk.length
          }
          failures = 0
          req.onProgress?.(offset, total, 512 + resumedFrom)
        }
      } catch (e) {
        await flush()
        if (e instanceof ClawbakeError) throw e
        // a dropped connection: go again from where we are
        if (++failures > session.retries) throw refuse('registry.network', `the download of ${target.what} broke off ${failures} times at byte ${offset}: ${(e as Error).message}`, where.file, 2)
        // the tar trailer is hashed as it streams: a cut in it restarts from the qcow2's end
        if (offset > 512 + diskSize) throw refuse('registry.network', `the download of ${target.what} broke off in the tar trailer: ${(e as Error).message}`, where.file, 2)
        if (offset < 512) {
          offset = 0
          pendingHeader = []
        }
        resumes++
        continue
      }
      await flush()
      if (offset < total) {
        if (++failures > session.retries) throw refuse('registry.truncated', `the registry ended the layer at byte ${offset} of ${total}`, where.file)
        resumes++
      }
    }
    await fh.sync()
  } catch (e) {
    diskHash.close()
    throw e
  } finally {
    await fh.close()
  }

  const layerDigest = 'sha256:' + layerHash.digest('hex')
  const sha256 = await diskHash.digest()
  if (layerDigest !== layer.digest || sha256 !== store.sha256) {
    // something in there is not what was pushed: throw it all away
    rmSync(partial, { force: true })
    rmSync(state, { force: true })
    throw refuse('store.digest-mismatch', layerDigest !== layer.digest
      ? `the layer served hashes to ${layerDigest}, expected ${layer.digest}; nothing was written to ${out}`
      : `the qcow2 hashes to ${sha256}, the catalog recorded ${store.sha256}; nothing was written to ${out}`, where.file)
  }
  commitFileAtomic(partial, out)
  rmSync(state, { force: true })
  return {
    out, reference: store.reference, manifestDigest: store.manifestDigest, layerDigest, sha256, sizeBytes: store.sizeBytes,
    resumedFrom, bytesDownloaded: downloaded, resumes, ms: Date.now() - t0,
  }
}
