// inspect (qemu): the captured disk's free space zeroed (zero-free.ts), then
// the disk searched raw for this run's secrets and
// read for build leftovers; a disk that is not clean is never published.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ClawbakeError } from '../../errors.ts'
import { hashFile } from '../../file-hash.ts'
import { inspectDisk, type DiskInspection } from '../inspect.ts'
import { zeroFreeSpace } from '../zero-free.ts'
import type { Gated } from './gates.ts'
import type { RunDir } from './run-dir.ts'
import { skipped, stage } from './stage.ts'

export const inspect = stage('inspect', async (ctx, { 'run-dir': run, gates }: { 'run-dir': RunDir; gates: Gated }) => {
  const { req, io } = ctx
  if (req.builder !== 'qemu') return skipped<DiskInspection | null>(null)
  const secrets = [
    ...(io.env.AVOTS_API_KEY ? [{ name: 'the avots API key', value: io.env.AVOTS_API_KEY }] : []),
    { name: 'the gateway token', value: ctx.secrets.gatewayToken },
    { name: 'the bot token', value: ctx.secrets.botToken },
    ...(req.extraSecrets ?? []),
  ]
  // clean by construction: every free block zeroed and the qcow2 written anew; then the independent inspection
  const qcow2 = join(ctx.root, gates.artifact.id)
  const z = await zeroFreeSpace(qcow2, run.dir)
  gates.artifact.sha256 = await hashFile(qcow2)
  gates.artifact.sizeBytes = z.after
  ctx.outcome.artifact = gates.artifact
  ctx.progress('inspect', `free space zeroed: ${z.zeroedBlocks} of ${z.freeBlocks} free blocks held data; qcow2 ${(z.before / 2 ** 20).toFixed(0)} -> ${(z.after / 2 ** 20).toFixed(0)} MiB in ${(z.ms / 1000).toFixed(0)} s`)
  const r = await inspectDisk(qcow2, { secrets, workDir: run.dir, log: l => ctx.progress('inspect', l) })
  writeFileSync(join(run.dir, 'inspection.json'), JSON.stringify(r, null, 2) + '\n')
  if (!r.ok) {
    throw new ClawbakeError(`the captured disk is not clean: ${r.findings.join('; ')}; nothing was published`, { file: gates.artifact.id, rule: 'bake.disk-not-clean' }, 1)
  }
  return { value: r as DiskInspection | null, detail: `clean: ${(r.bytes / 2 ** 30).toFixed(1)} GiB of raw disk searched for ${secrets.length} secrets, ${r.checked.length - 1} leftover checks` }
})
