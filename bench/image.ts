// `npm run bench -- image`: push and pull throughput of a 1 GiB qcow2 (made
// now by qemu-img, random data in 640 MiB of it) to the real docker-registry
// (token auth) on loopback, and the bytes sent by a re-push of the unchanged
// image, side by side with `skopeo copy` of the same image (the same layer,
// config and manifest written as an OCI layout). Bytes are counted by a TCP
// pass-through in front of the registry, for both tools alike. Prints
// figures; asserts nothing.
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync, createWriteStream } from 'node:fs'
import { createServer, connect, type AddressInfo, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { runOk } from '../src/proc/run.ts'
import { describeDisk, diskImage, layerRange } from '../src/store/disk-image.ts'
import { pushDiskImage } from '../src/store/push.ts'
import { pullDiskImage } from '../src/store/pull.ts'
import { makeQcow2 } from '../test/support/disk.ts'
import { startRegistry } from '../test/support/registry.ts'

const MIB = 1 << 20
const teardowns: (() => void | Promise<void>)[] = []
const t = { teardown: (fn: () => void | Promise<void>) => { teardowns.push(fn) } }

/** A TCP pass-through on 127.0.0.1 that counts the bytes each way. */
async function countingProxy(upstreamPort: number) {
  const counts = { up: 0, down: 0 }
  const sockets = new Set<Socket>()
  const server = createServer(client => {
    const up = connect(upstreamPort, '127.0.0.1')
    sockets.add(client).add(up)
    client.on('data', d => { counts.up += d.length })
    up.on('data', d => { counts.down += d.length })
    client.pipe(up).pipe(client)
    const close = () => { client.destroy(); up.destroy(); sockets.delete(client); sockets.delete(up) }
    client.on('error', close).on('close', close)
    up.on('error', close).on('close', close)
  })
  await new Promise<void>(r => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as AddressInfo).port
  return {
    host: `127.0.0.1:${port}`,
    counts,
    reset: () => { counts.up = 0; counts.down = 0 },
    stop: () => new Promise<void>(r => { for (const s of sockets) s.destroy(); server.close(() => r()) }),
  }
}

interface Row { what: string; seconds: number; upMiB: number; downMiB: number }
const rows: Row[] = []
async function measure(what: string, proxy: { counts: { up: number; down: number }; reset(): void }, fn: () => Promise<unknown>): Promise<void> {
  proxy.reset()
  const t0 = performance.now()
  await fn()
  rows.push({ what, seconds: (performance.now() - t0) / 1000, upMiB: proxy.counts.up / MIB, downMiB: proxy.counts.down / MIB })
}

try {
  const scratch = mkdtempSync(join(tmpdir(), 'clawbake-bench-image-'))
  t.teardown(() => rmSync(scratch, { recursive: true, force: true }))
  const t0 = performance.now()
  const file = await makeQcow2(scratch, 'golden', { mib: 1024, randomMib: 640 })
  const made = (performance.now() - t0) / 1000
  const layer = await describeDisk(file)
  const size = statSync(file).size
  process.stdout.write(`qcow2: ${(size / MIB).toFixed(0)} MiB (1 GiB disk, 640 MiB random), made by qemu-img in ${made.toFixed(1)} s; layer ${(layer.layerSize / MIB).toFixed(1)} MiB\n`)

  const reg = await startRegistry(t, { auth: 'token' })
  const port = Number(reg.host.split(':')[1])
  const proxy = await countingProxy(port)
  t.teardown(proxy.stop)
  const env = { CLAWBAKE_REGISTRY_USER: reg.user, CLAWBAKE_REGISTRY_PASSWORD: reg.password }
  const meta = { indexDigest: 'sha256:' + '0'.repeat(64), channel: 'stable', gates: '10/10 passed', created: new Date().toISOString() }

  // clawbake
  const repo = `${proxy.host}/bench/clawbake-images`
  let store!: Awaited<ReturnType<typeof pushDiskImage>>['store']
  await measure('clawbake push (128 MiB chunks, verify)', proxy, async () => {
    store = (await pushDiskImage({ file, repository: repo, tag: '2026.9.6', bakeId: 'bench-1', env, meta })).store
  })
  await measure('clawbake re-push, unchanged qcow2', proxy, () => pushDiskImage({ file, repository: repo, tag: '2026.9.6', bakeId: 'bench-2', env, meta }))
  await measure('clawbake image pull (verify, atomic)', proxy, () => pullDiskImage({ store, out: join(scratch, 'pulled.qcow2'), env: {} }))
  rmSync(join(scratch, 'pulled.qcow2'))

  // skopeo: the very same image as an OCI layout on disk
  const image = diskImage(layer, { ...meta, tag: '2026.9.6', bakeId: 'bench-1' })
  const layout = join(scratch, 'layout')
  mkdirSync(join(layout, 'blobs', 'sha256'), { recursive: true })
  writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }))
  await pipeline(layerRange(layer, 0, layer.layerSize), createWriteStream(join(layout, 'blobs', 'sha256', layer.digest.slice(7))))
  writeFileSync(join(layout, 'blobs', 'sha256', image.configDigest.slice(7)), image.config)
  writeFileSync(join(layout, 'blobs', 'sha256', image.manifestDigest.slice(7)), image.manifest)
  writeFileSync(join(layout, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: image.manifestDigest, size: image.manifest.length, annotations: { 'org.opencontainers.image.ref.name': 'bench' } }] }))
  // credentials in an auth file (0600), not on the command line
  const authfile = join(scratch, 'auth.json')
  writeFileSync(authfile, JSON.stringify({ auths: { [proxy.host]: { auth: Buffer.from(`${reg.user}:${reg.password}`).toString('base64') } } }), { mode: 0o600 })
  const dest = `docker://${proxy.host}/bench/skopeo-images:bench`
  const skopeo = (args: string[]) => runOk('skopeo', ['copy', '--quiet', '--authfile', authfile, '--preserve-digests', ...args], { timeoutMs: 900000 })
  await measure('skopeo copy oci: -> registry', proxy, () => skopeo(['--dest-tls-verify=false', `oci:${layout}:bench`, dest]))
  await measure('skopeo copy, again (unchanged)', proxy, () => skopeo(['--dest-tls-verify=false', `oci:${layout}:bench`, dest]))
  await measure('skopeo copy registry -> oci: (pull)', proxy, () => skopeo(['--src-tls-verify=false', dest, `oci:${join(scratch, 'pulled-layout')}:bench`]))

  process.stdout.write(`docker-registry 2.8, token auth, on loopback; 2 shared cores; bytes counted on the wire (TCP)\n`)
  process.stdout.write(`${'what'.padEnd(40)} ${'seconds'.padStart(8)} ${'MiB/s'.padStart(7)} ${'MiB up'.padStart(9)} ${'MiB down'.padStart(9)}\n`)
  for (const r of rows) {
    const moved = Math.max(r.upMiB, r.downMiB)
    process.stdout.write(`${r.what.padEnd(40)} ${r.seconds.toFixed(1).padStart(8)} ${(moved / r.seconds).toFixed(0).padStart(7)} ${r.upMiB.toFixed(3).padStart(9)} ${r.downMiB.toFixed(3).padStart(9)}\n`)
  }
  const again = rows.find(r => r.what.startsWith('clawbake re-push'))!
  const skAgain = rows.find(r => r.what.startsWith('skopeo copy, again'))!
  process.stdout.write(`re-push of the unchanged image: clawbake sent ${(again.upMiB * MIB).toFixed(0)} bytes, skopeo ${(skAgain.upMiB * MIB).toFixed(0)} bytes\n`)
} finally {
  for (const fn of teardowns.reverse()) await fn()
}
