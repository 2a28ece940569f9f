// prepare: what the builder needs in the run directory before Packer starts:
// for qemu the NoCloud seed, the checked base image and the accelerator; for
// a VM the gate bundle; for all the variable file.
import { writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { bundleGates } from '../bundle.ts'
import { DEFAULT_UBUNTU_URL } from '../defaults.ts'
import { assertBaseChecksum, clockFor, probeAccelerator, qemuSettings, type Accelerator } from '../qemu.ts'
import type { ClockChoice } from '../../vm/accelerator.ts'
import { writeSeed } from '../seed.ts'
import type { RunDir } from './run-dir.ts'
import { stage } from './stage.ts'
export interface Prepared {
  /** bake.pkrvars.json: every Packer variable of this bake */
  varFile: string
  /** qemu: the accelerator a guest really runs under here (the boot test uses it too) */
  accelerator: Accelerator | null
  /** qemu: the guest clock (TCG: real time, or the instruction clock for a release with a fixed start-up deadline) */
  clock: ClockChoice | null
}

export const prepare = stage('prepare', async (ctx, { 'run-dir': run }: { 'run-dir': RunDir }) => {
  const { req, io } = ctx
  const vars = { ...run.vars }
  const done: string[] = []
  let accelerator: Accelerator | null = null
  let clock: ClockChoice | null = null
  if (req.builder === 'qemu') {
    const seed = await writeSeed(run.dir, run.bakeId)
    vars.ssh_private_key_file = seed.privateKey
    await assertBaseChecksum(String(vars.ubuntu_image_url ?? DEFAULT_UBUNTU_URL), String(vars.ubuntu_image_checksum ?? ''))
    const accel = await probeAccelerator(req.probeKernel, io.env)
    clock = await clockFor(accel.accelerator, ctx.tag, io.env)
    const q = qemuSettings(accel.accelerator, { serialLog: join(run.dir, 'serial.log'), guestfwd: req.guestfwd ?? [], clock })
    Object.assign(vars, q.vars)
    accelerator = accel.accelerator
    const clockSaid = accel.accelerator === 'tcg' ? `, clock ${clock.clock} (${clock.why}${clock.ratio !== 1 ? `; host-side waits x${clock.ratio}` : ''})` : ''
    done.push(`NoCloud seed (cidata), accelerator ${accel.accelerator} (${accel.why})${clockSaid}, timeouts x${q.scale}`)
  }
  if (req.builder !== 'null') {
    const b = await bundleGates(join(run.dir, 'gates'))
    done.push(`gate bundle ${(b.bytes / 1024).toFixed(0)} KiB`)
  }
  const varFile = join(run.dir, 'bake.pkrvars.json')
  writeFileSync(varFile, JSON.stringify(vars, null, 2) + '\n')
  done.push(`packer ${run.packer.version}${run.packer.modern ? ' (staged template with error-cleanup-provisioner)' : ' (1.6: no error-cleanup-provisioner; the gate report is fetched before the verdict)'}`)
  return { value: { varFile, accelerator, clock } satisfies Prepared, detail: `${relative(ctx.root, run.dir)}: ${done.join(', ')}` }
})
