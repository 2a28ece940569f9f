// Real qcow2 disk images for the store tests, made at run time with qemu-img
// (through src/proc/run.ts): random bytes in part of the disk, zeros in the
// rest, converted with -S 0 so the zeros are allocated too and the file is
// as large as the disk.
import { randomFillSync } from 'node:crypto'
import { closeSync, openSync, rmSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { runOk } from '../../src/proc/run.ts'

export async function makeQcow2(dir: string, name: string, opts: { mib: number; randomMib: number }): Promise<string> {
  const raw = join(dir, `${name}.raw`)
  const out = join(dir, `${name}.qcow2`)
  await runOk('qemu-img', ['create', '-q', '-f', 'raw', raw, `${opts.mib}M`])
  const fd = openSync(raw, 'r+')
  try {
    const chunk = Buffer.alloc(4 << 20)
    for (let off = 0; off < opts.randomMib << 20; off += chunk.length) {
      randomFillSync(chunk)
      writeSync(fd, chunk, 0, Math.min(chunk.length, (opts.randomMib << 20) - off), off)
    }
  } finally {
    closeSync(fd)
  }
  await runOk('qemu-img', ['convert', '-q', '-S', '0', '-f', 'raw', '-O', 'qcow2', raw, out], { timeoutMs: 300000 })
  rmSync(raw)
  return out
}
