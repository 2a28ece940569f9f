// Clean by construction, on a real file system: a secret written to a file
// and then deleted stays in the free blocks of an ext4 disk (as the gate
// run's state/.env did in a captured qcow2), and zeroFreeSpace takes it out
// of the raw bytes of a real qcow2, whatever block it landed in; what is in
// use stays, and the file system is still clean (e2fsck) with a journal.
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { run, runOk } from '../../src/proc/run.ts'
import { searchFile } from '../../src/bake/inspect.ts'
import { zeroFreeSpace } from '../../src/bake/zero-free.ts'

const MIB = 2 ** 20

/** A partitioned raw disk (MBR, one Linux partition at 1 MiB) with an ext4 file system, like the base image. */
async function partitionedDisk(dir: string): Promise<{ raw: string; fs: string }> {
  const raw = join(dir, 'disk.raw')
  const fs = join(dir, 'fs.img')
  writeFileSync(fs, '')
  await runOk('truncate', ['-s', '63M', fs])
  await runOk('mkfs.ext4', ['-q', '-F', fs])
  return { raw, fs }
}

async function assemble(raw: string, fs: string): Promise<void> {
  await runOk('truncate', ['-s', '64M', raw])
  await runOk('sfdisk', ['--quiet', raw], { input: 'start=2048, type=83\n' })
  await runOk('dd', [`if=${fs}`, `of=${raw}`, 'bs=1M', 'seek=1', 'conv=notrunc,sparse', 'status=none'])
}

t.test('a deleted file\'s secret is gone from the raw bytes; the files in use stay', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'clawbake-zero-free-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const secret = `sk-avots-zero-${randomBytes(18).toString('hex')}`
  const kept = `kept-${randomBytes(12).toString('hex')}`
  const { raw, fs } = await partitionedDisk(dir)
  // the gate run's state/.env, many times over so it fills blocks, then deleted; a file that stays beside it
  writeFileSync(join(dir, 'env'), `AVOTS_API_KEY=${secret}\n`.repeat(4000))
  writeFileSync(join(dir, 'kept'), `${kept}\n`)
  await runOk('debugfs', ['-w', '-R', `write ${join(dir, 'env')} env`, fs])
  await runOk('debugfs', ['-w', '-R', `write ${join(dir, 'kept')} kept`, fs])
  await runOk('debugfs', ['-w', '-R', 'rm env', fs])
  await assemble(raw, fs)
  const qcow2 = join(dir, 'disk.qcow2')
  await runOk('qemu-img', ['convert', '-c', '-O', 'qcow2', raw, qcow2])
  const before = join(dir, 'before.raw')
  await runOk('qemu-img', ['convert', '-O', 'raw', qcow2, before])
  t.ok(searchFile(before, [{ name: 'secret', value: secret }]).hits.length, 'the deleted file\'s bytes are in the qcow2 before (the leak this fixes)')

  const z = await zeroFreeSpace(qcow2, dir)
  t.ok(z.zeroedBlocks > 0, `zerofree wrote zeros to ${z.zeroedBlocks} of ${z.freeBlocks} free blocks`)
  t.ok(z.freeBlocks > z.zeroedBlocks, 'most free blocks were already zero')
  t.equal(statSync(qcow2).size, z.after)
  const after = join(dir, 'after.raw')
  await runOk('qemu-img', ['convert', '-O', 'raw', qcow2, after])
  t.same(searchFile(after, [{ name: 'secret', value: secret }]).hits, [], 'the secret is nowhere in the raw bytes after')
  t.ok(searchFile(after, [{ name: 'kept', value: kept }]).hits.length, 'the file in use is still there')
  // the file system itself: still clean, still journalled, the kept file readable
  const part = join(dir, 'part.img')
  await runOk('dd', [`if=${after}`, `of=${part}`, 'bs=1M', 'skip=1', 'status=none'])
  const fsck = await run('e2fsck', ['-f', '-n', part])
  t.equal(fsck.code, 0, `e2fsck: ${fsck.stdout}${fsck.stderr}`)
  t.match((await runOk('dumpe2fs', ['-h', part])).stdout, /has_journal/, 'the journal was made anew')
  t.match((await runOk('debugfs', ['-R', 'cat kept', part])).stdout, kept)
  t.match((await runOk('qemu-img', ['info', qcow2])).stdout, /file format: qcow2/)
  t.ok(z.after < 16 * MIB, 'still a compressed qcow2')
})

t.test('a disk without a Linux partition fails before anything is written, and the qcow2 is unchanged', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'clawbake-zero-free-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const raw = join(dir, 'blank.raw')
  await runOk('truncate', ['-s', '8M', raw])
  const qcow2 = join(dir, 'blank.qcow2')
  await runOk('qemu-img', ['convert', '-O', 'qcow2', raw, qcow2])
  const size = statSync(qcow2).size
  await t.rejects(zeroFreeSpace(qcow2, dir), /partition/i)
  t.equal(statSync(qcow2).size, size, 'the qcow2 was left as it was')
})
