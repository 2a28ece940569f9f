// run-dir: the bake's own directory under .clawbake/bake/<bake id> (seed, gate
// bundle, Packer variables, manifest, gate report, bake.log) and how Packer
// runs there: its binary and version, the base variables, the template dir.
import { randomBytes } from 'node:crypto'
import { mkdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { PACKAGE_ROOT } from '../../paths.ts'
import type { ResolvedImage } from '../contract.ts'
import { gatesFor } from '../../gates/gate.ts'
import { packerInfo, type PackerInfo, type PackerRun } from '../packer.ts'
import { which } from '../../proc/run.ts'
import type { ReleaseInfo } from '../release.ts'
import { stageTemplate } from '../template.ts'
import { pinnedRef } from './resolve.ts'
import { step } from './stage.ts'

export interface RunDir {
  bakeId: string
  dir: string
  manifestPath: string
  reportPath: string
  packer: PackerInfo
  /** the Packer variables every builder gets; prepare adds the builder's own */
  vars: Record<string, unknown>
  /** how Packer runs (binary, template dir, environment with the secrets, masker, log) */
  packerRun: PackerRun
}

function newBakeId(tag: string, now: Date): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')
  return `${tag}-${stamp}-${randomBytes(3).toString('hex')}`.slice(0, 64)
}

export const runDir = step('run-dir', async (ctx, { release, resolve }: { release: ReleaseInfo; resolve: ResolvedImage }): Promise<RunDir> => {
  const { req, io, root, paths, started, tag } = ctx
  const bakeId = newBakeId(tag, started)
  const dir = join(paths.state, 'bake', bakeId)
  mkdirSync(dir, { recursive: true })
  ctx.outcome.bakeId = bakeId
  ctx.outcome.runDir = dir
  ctx.openLog(join(dir, 'bake.log'))
  const manifestPath = join(dir, 'manifest.json')
  rmSync(manifestPath, { force: true })
  const reportPath = join(dir, 'gate-report.json')

  const bin = which(io.env.CLAWBAKE_PACKER ?? 'packer', io.env) as string
  const packer = await packerInfo(bin, io.env)
  const vars: Record<string, unknown> = {
    openclaw_image: pinnedRef(tag, resolve.digest),
    channel: ctx.channel,
    released_at: release.publishedAt,
    bake_started_at: started.toISOString(),
    bake_id: bakeId,
    run_dir: dir,
    manifest_path: manifestPath,
    gate_ids: req.onlyGates?.length ? req.onlyGates : [...gatesFor(req.builder === 'null' ? 'local' : 'vm')],
    avots_base_url: io.env.AVOTS_BASE_URL ?? 'https://api.avots.ai/openai/v1',
    clawbake_command: ctx.deps.clawbakeCommand ?? `${process.execPath} ${join(PACKAGE_ROOT, 'bin', 'clawbake.js')}`,
    project_root: root,
    output_directory: join(paths.state, 'artifacts', bakeId),
    ...req.packerVars,
  }
  const packerRun: PackerRun = {
    bin,
    dir: stageTemplate(paths.packerDir, dir, packer.modern),
    env: {
      ...io.env, // packerEnv() drops PACKER_LOG/PACKER_LOG_PATH (an unmasked debug log)
      PKR_VAR_avots_api_key: io.env.AVOTS_API_KEY,
      PKR_VAR_gate_gateway_token: ctx.secrets.gatewayToken,
      PKR_VAR_gate_bot_token: ctx.secrets.botToken,
      PACKER_CACHE_DIR: io.env.PACKER_CACHE_DIR ?? join(paths.state, 'packer-cache'),
      CLAWBAKE_ROOT: root,
    },
    masker: ctx.masker,
    log: line => ctx.log(line),
    ...(req.signal ? { signal: req.signal } : {}),
  }
  return { bakeId, dir, manifestPath, reportPath, packer, vars, packerRun }
})
