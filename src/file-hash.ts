// The hash of a file's bytes, streamed (qcow2 images are gigabytes).
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'

export async function hashFile(file: string, algo: 'sha256' | 'sha512' = 'sha256'): Promise<string> {
  const h = createHash(algo)
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer)
  return h.digest('hex')
}
