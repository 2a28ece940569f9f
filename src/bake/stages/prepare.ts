// prepare: what the builder needs in the run directory before Packer starts:
// for qemu the NoCloud seed, the checked base image and the accelerator; for
// a VM the gate bundle; for all the variable file.
import { writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { bundleGates } from '../bundle.ts'
import { DEFAULT_UBUNTU_URL } from '../defaults.ts'
import { assertBaseChecksum, probeAccelerator, qemuSettings, type Accelerator } from '../qemu.ts'
import { writeSeed } from '../seed.ts'
import type { RunDir } from './run-dir.ts'
import { stage } from './stage.ts'
import { envError } from '../../errors.ts'
import { ensureOpenclaw } from '../../openclaw/runtime.ts'
import { leaseStartDeadline, tcgLeaseRefusal } from '../../openclaw/lease.ts'

/** Under TCG: a release whose own files set a fixed lease start that an emulated CPU misses is refused now (exit 2), not 20 minutes later. */
export async function assertStartsUnderTcg(tag: string, env: Record<string, string | undefined>): Promise<void> {
  const rt = await ensureOpenclaw(tag, env)
  const why = tcgLeaseRefusal(tag, await leaseStartDeadline(join(rt.dir, 'node_modules', 'openclaw')))
  if (why) throw envError(`clawbake: ${why}`, { field: '--tag', rule: 'bake.tcg-lease-limit' })
}

export interface Prepared {
  /** bake.pkrvars.json: every Packer variable of this bake */
  varFile: string
  /** qemu: the accelerator a guest really runs under here (the boot test uses it too) */
  accelerator: Accelerator | null
}

export const prepare = stage('prepare', async (ctx, { 'run-dir': run }: { 'run-dir': RunDir }) => {
  const { req, io } = ctx
  const vars = { ...run.vars }
  const done: string[] = []
  let accelerator: Accelerator | null = null
  if (req.builder === 'qemu') {
    const seed = await writeSeed(run.dir, run.bakeId)
    vars.ssh_private_key_file = seed.privateKey
    await assertBaseChecksum(String(vars.ubuntu_image_url ?? DEFAULT_UBUNTU_URL), String(vars.ubuntu_image_checksum ?? ''))
    const accel = await probeAccelerator(req.probeKernel, io.env)
    if (accel.accelerator === 'tcg') await assertStartsUnderTcg(ctx.tag, io.env)
    const q = qemuSettings(accel.accelerator, { serialLog: join(run.dir, 'serial.log'), guestfwd: req.guestfwd ?? [] })
    Object.assign(vars, q.vars)
    accelerator = accel.accelerator
    done.push(`NoCloud seed (cidata), accelerator ${accel.accelerator} (${accel.why}), timeouts x${q.scale}`)
  }
  if (req.builder !== 'null') {
    const b = await bundleGates(join(run.dir, 'gates'))
    done.push(`gate bundle ${(b.bytes / 1024).toFixed(0)} KiB`)
  }
  const varFile = join(run.dir, 'bake.pkrvars.json')
  writeFileSync(varFile, JSON.stringify(vars, null, 2) + '\n')
  done.push(`packer ${run.packer.version}${run.packer.modern ? ' (staged template with error-cleanup-provisioner)' : ' (1.6: no error-cleanup-provisioner; the gate report is fetched before the verdict)'}`)
  return { value: { varFile, accelerator } satisfies Prepared, detail: `${relative(ctx.root, run.dir)}: ${done.join(', ')}` }
})
