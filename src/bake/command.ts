// `clawbake bake --tag X [--builder qemu|amazon-ebs|null] [--dry-run] [--force] [--json]`
// (`npm run bake -- --tag X`): the whole line, see bake.ts.
import type { Command } from '../cli/command.ts'
import { commonOptions, parseCommandArgs } from '../cli/args.ts'
import { ClawbakeError, usageError } from '../errors.ts'
import { emitJson, type Io } from '../io.ts'
import { CHANNELS, type Channel } from '../releases/version.ts'
import { BakeFailed, runBake, type BakeDeps, type BakeOutcome } from './bake.ts'
import { maskerFromEnv } from './mask.ts'
import { BUILDERS, type Builder } from './packer.ts'
import { realStages } from './stages.ts'

const usage =
  'clawbake bake --tag <tag> [--builder qemu|amazon-ebs|null] [--channel stable|extended-stable] [--image REPO] [--digest sha256:..] ' +
  '[--released-at ISO] [--var name=value ...] [--image-repo REPO] [--allow-prerelease] [--dry-run] [--force] [--json]'

const options = {
  ...commonOptions,
  tag: { type: 'string' },
  builder: { type: 'string', default: 'qemu' },
  channel: { type: 'string' },
  image: { type: 'string' },
  digest: { type: 'string' },
  'released-at': { type: 'string' },
  repo: { type: 'string' },
  'image-repo': { type: 'string' },
  var: { type: 'string', multiple: true },
  'allow-prerelease': { type: 'boolean', default: false },
  'dry-run': { type: 'boolean', default: false },
  force: { type: 'boolean', default: false },
} as const

// Variables the command line may set: non-secret, and never the image
// reference (that is always the one resolved here).
const SETTABLE_VARS = new Set(['ubuntu_image_url', 'ubuntu_image_checksum', 'disk_size', 'memory', 'cpus', 'aws_region', 'aws_instance_type', 'aws_source_ami_owner'])

function toJson(o: BakeOutcome, error?: ClawbakeError): Record<string, unknown> {
  return {
    ok: o.ok, tag: o.tag, digest: o.digest, channel: o.channel, builder: o.builder, artifact: o.artifact, gates: o.gates,
    published: o.published, noop: o.noop, dryRun: o.dryRun, files: o.files, bakeId: o.bakeId,
    stages: o.stages, ...(o.plan ? { plan: o.plan } : {}), ...(error ? { error: error.toJSON() } : {}),
  }
}

export async function bakeCommand(argv: string[], io: Io, deps: BakeDeps): Promise<number> {
  const { values } = parseCommandArgs('bake', argv, options, usage)
  if (!values.tag) throw usageError(`clawbake bake: --tag is required\nusage: ${usage}`)
  const builder = values.builder as Builder
  if (!BUILDERS.includes(builder)) throw usageError(`clawbake bake: --builder must be one of ${BUILDERS.join(', ')}, got "${values.builder}"`, 'bake.builder')
  if (values.channel && !CHANNELS.includes(values.channel as Channel)) throw usageError(`clawbake bake: --channel must be stable or extended-stable`, 'bake.channel')
  const packerVars: Record<string, string> = {}
  for (const kv of values.var ?? []) {
    const i = kv.indexOf('=')
    const name = i > 0 ? kv.slice(0, i) : ''
    if (!SETTABLE_VARS.has(name)) throw usageError(`clawbake bake: --var ${name || kv} is not settable (allowed: ${[...SETTABLE_VARS].join(', ')})`, 'bake.var')
    packerVars[name] = kv.slice(i + 1)
  }
  try {
    const outcome = await runBake(
      {
        tag: values.tag, builder, dryRun: values['dry-run'], force: values.force,
        ...(values.image ? { image: values.image } : {}),
        ...(values.digest !== undefined ? { digest: values.digest } : {}),
        ...(values.channel ? { channel: values.channel as Channel } : {}),
        ...(values['released-at'] ? { releasedAt: values['released-at'] } : {}),
        ...(values.repo ? { repo: values.repo } : {}),
        // not the ghcr.io/<owner> default: in a workflow only the publish job may push
        ...(values['image-repo'] || io.env.CLAWBAKE_IMAGE_REPO ? { imageRepo: values['image-repo'] || io.env.CLAWBAKE_IMAGE_REPO } : {}),
        allowPrerelease: values['allow-prerelease'],
        packerVars,
      },
      io,
      deps,
    )
    if (values.json) emitJson(io, toJson(outcome))
    return 0
  } catch (e) {
    // every message is masked: errors can quote Packer or gate output
    const masker = maskerFromEnv(io.env)
    if (e instanceof BakeFailed) {
      if (values.json) emitJson(io, toJson(e.outcome, e))
      io.err(`clawbake bake: ${masker.mask(e.describe())}\n`)
      return e.exitCode
    }
    if (e instanceof ClawbakeError) throw new ClawbakeError(masker.mask(e.message), { file: e.file, field: e.field, rule: e.rule }, e.exitCode)
    throw e
  }
}

export const command: Command = {
  name: 'bake',
  summary: 'watch -> resolve -> pin -> check -> packer build -> gates -> publish',
  usage,
  run: (argv, io) => bakeCommand(argv, io, { stages: realStages }),
}
