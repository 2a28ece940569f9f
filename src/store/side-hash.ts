// A sha256 computed on a worker thread, beside one on the main thread: the
// image store needs two digests of the same GiB (the qcow2's and the tar
// layer's around it), and one core hashing both was most of a push's
// `describe` and bounded a pull. The worker's code is inline (eval), so it
// works the same from the sources and from the esbuild bundle. Each update is
// a copy of the bytes transferred to the worker; update() resolves at once
// unless more than 64 MiB are waiting to be hashed (backpressure).
import { Worker } from 'node:worker_threads'

const CODE = `
const { parentPort } = process.getBuiltinModule('node:worker_threads')
const hash = process.getBuiltinModule('node:crypto').createHash('sha256')
parentPort.on('message', m => {
  if (m === null) parentPort.postMessage({ digest: hash.digest('hex') })
  else { hash.update(m); parentPort.postMessage({ done: m.byteLength }) }
})`

const MAX_QUEUED = 64 << 20

export interface SideHash {
  update(chunk: Buffer): Promise<void> | undefined
  /** hex sha256 of everything updated; ends the worker */
  digest(): Promise<string>
  /** end the worker without a digest (a failed transfer) */
  close(): void
}

export function sideHash(): SideHash {
  const worker = new Worker(CODE, { eval: true })
  let queued = 0
  let drained: (() => void) | null = null
  let failure: Error | null = null
  let digested: ((hex: string) => void) | null = null
  let rejectDigest: ((e: Error) => void) | null = null
  worker.on('message', (m: { done?: number; digest?: string }) => {
    if (m.done !== undefined) {
      queued -= m.done
      if (drained && queued <= MAX_QUEUED / 2) { drained(); drained = null }
    } else if (m.digest !== undefined) digested?.(m.digest)
  })
  worker.on('error', e => {
    failure = e
    rejectDigest?.(e)
    drained?.()
  })
  return {
    update(chunk) {
      if (failure) throw failure
      const copy = new Uint8Array(chunk)
      queued += copy.byteLength
      worker.postMessage(copy, [copy.buffer])
      if (queued <= MAX_QUEUED) return undefined
      return new Promise<void>(r => { drained = r })
    },
    async digest() {
      if (failure) throw failure
      try {
        return await new Promise<string>((resolve, reject) => {
          digested = resolve
          rejectDigest = reject
          worker.postMessage(null)
        })
      } finally {
        void worker.terminate()
      }
    },
    close() {
      void worker.terminate()
    },
  }
}
