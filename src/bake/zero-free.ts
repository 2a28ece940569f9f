// Clean by construction: after capture, every free block of the image's root
// file system is zeroed and the compressed qcow2 written anew from that, so no
// deleted file's bytes survive (the gate run's state/.env, container logs,
// vacuumed journals), wherever the file system had put them. fstrim at
// shutdown is not enough: a discard that does not cover a whole qcow2 cluster
// leaves the data in place. The ext4 journal is dropped and made anew too
// (its blocks are zeroed with the rest), so no old metadata copy survives.
// The disk inspection after this stays the independent check.
import { renameSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { run, runOk } from '../proc/run.ts'
import { rootPartitionOffset } from './inspect.ts'

export interface ZeroedDisk {
  /** bytes of the compressed qcow2 before and after */
  before: number
  after: number
  /** zerofree's count of blocks it wrote zeros to, of the file system's free blocks */
  zeroedBlocks: number
  freeBlocks: number
  ms: number
}

/** Zero the free blocks of an ext4 file system on a raw disk, at this byte offset (unmounted; the journal is made anew). */
export async function zeroFreeRaw(raw: string, offset: number): Promise<{ zeroedBlocks: number; freeBlocks: number }> {
  const loop = (await runOk('losetup', ['--find', '--show', '--offset', String(offset), raw], { rule: 'zero-free.losetup' })).stdout.trim()
  try {
    // a cleanly shut down file system: fsck -p fixes nothing then; exit 0 or 1 (fixed) is fine
    const fsck = await run('e2fsck', ['-f', '-p', loop], { timeoutMs: 600_000 })
    if (fsck.code === null || fsck.code > 1) throw new Error(`e2fsck ${loop} exit ${fsck.code}: ${fsck.stdout}${fsck.stderr}`)
    const hadJournal = /has_journal/.test((await runOk('dumpe2fs', ['-h', loop], { rule: 'zero-free.dumpe2fs' })).stdout)
    if (hadJournal) await runOk('tune2fs', ['-O', '^has_journal', loop], { rule: 'zero-free.journal' })
    const z = await runOk('zerofree', ['-v', loop], { rule: 'zero-free.zerofree', timeoutMs: 1_800_000 })
    if (hadJournal) await runOk('tune2fs', ['-O', 'has_journal', loop], { rule: 'zero-free.journal' })
    // zerofree -v ends with `<zeroed>/<free>/<total>`
    const m = /(\d+)\/(\d+)\/(\d+)\s*$/.exec(z.stdout.trim() || z.stderr.trim())
    return { zeroedBlocks: Number(m?.[1] ?? 0), freeBlocks: Number(m?.[2] ?? 0) }
  } finally {
    await run('losetup', ['--detach', loop])
  }
}

/** Rewrite `qcow2` (compressed) with every free block of its root file system zeroed; atomic: a failure leaves it as it was. */
export async function zeroFreeSpace(qcow2: string, workDir: string): Promise<ZeroedDisk> {
  const t0 = Date.now()
  const raw = join(workDir, 'zero-free.raw')
  const next = `${qcow2}.zeroed.tmp`
  const before = statSync(qcow2).size
  rmSync(raw, { force: true })
  try {
    await runOk('qemu-img', ['convert', '-O', 'raw', qcow2, raw], { rule: 'zero-free.convert', timeoutMs: 1_800_000 })
    const z = await zeroFreeRaw(raw, await rootPartitionOffset(raw))
    await runOk('qemu-img', ['convert', '-c', '-O', 'qcow2', raw, next], { rule: 'zero-free.convert', timeoutMs: 1_800_000 })
    renameSync(next, qcow2)
    return { before, after: statSync(qcow2).size, ...z, ms: Date.now() - t0 }
  } finally {
    rmSync(raw, { force: true })
    rmSync(next, { force: true })
  }
}
