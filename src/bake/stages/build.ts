// build: `packer build`, its progress lines shown as they come. The gates run
// inside it (in the VM, or on this machine for the null builder); whether the
// build failed is judged by the gates stage, which reads what the run left.
// A qemu build VM whose kernel panics would leave Packer waiting on SSH for
// ever: its serial console is watched, and a panic stops Packer as Ctrl-C does.
import { join } from 'node:path'
import { untilPanic, type GuestPanic } from '../../vm/serial-watch.ts'
import { gateStamper, type GateStamps } from '../gate-times.ts'
import { packerBuild, type PackerResult } from '../packer.ts'
import type { Prepared } from './prepare.ts'
import type { RunDir } from './run-dir.ts'
import { stage } from './stage.ts'

/** Packer's result, and when (on this machine's clock) the gate run's lines arrived. */
export interface Built extends PackerResult {
  gateStamps: GateStamps
  /** the build VM's kernel panicked (its serial console said so): Packer was stopped */
  guestPanic: GuestPanic | null
}

export const build = stage('build', async (ctx, { 'run-dir': run, prepare }: { 'run-dir': RunDir; prepare: Prepared; validate: null }) => {
  const stamper = gateStamper()
  const packer = (signal: AbortSignal | undefined) => packerBuild({
    ...run.packerRun,
    ...(signal ? { signal } : {}),
    progress: line => {
      stamper.observe(line)
      ctx.progress('build', `| ${line}`)
    },
  }, prepare.varFile, ctx.req.builder)
  const { value: b, panic: guestPanic } = ctx.req.builder === 'qemu'
    ? await untilPanic(join(run.dir, 'serial.log'), run.packerRun.signal, packer, p => ctx.progress('build', `the build VM's kernel panicked (${p.reason}): stopping Packer`))
    : { value: await packer(run.packerRun.signal), panic: null }
  return { value: { ...b, gateStamps: stamper.stamps, guestPanic } satisfies Built, detail: b.code === 0 ? 'packer build finished' : `packer build failed (exit ${b.code})` }
})
