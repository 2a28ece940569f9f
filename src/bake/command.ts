// `clawbake bake --tag X [--builder qemu|amazon-ebs|null] [--dry-run] [--force] [--json]`
// (`npm run bake -- --tag X`): the whole line, see bake.ts and stages/.
import type { Command } from '../cli/command.ts'
import { commonOptions, parseCommandArgs } from '../cli/args.ts'
import { stopOnSignals } from '../cli/stop-signals.ts'
import { ClawbakeError, usageError } from '../errors.ts'
import { emitJson, type Io } from '../io.ts'
import { CHANNELS, type Channel } from '../releases/version.ts'
import { BakeFailed, runBake, type BakeDeps, type BakeOutcome } from './bake.ts'
import { maskerFromEnv } from './mask.ts'
import { BUILDERS, type Builder } from './packer.ts'
import { realStages } from './deps.ts'
import { GATE_IDS } from './contract.ts'
import { startRehearsal, type Rehearsal } from './rehearsal.ts'
import { buildDebianBase } from '../vm/debian-base.ts'
import { cacheRoot, projectPaths } from '../paths.ts'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'



const usage =
  'clawbake bake --tag <tag> [--builder qemu|amazon-ebs|null] [--channel stable|extended-stable] [--image REPO] [--digest sha256:..] ' +
  '[--base ubuntu-24.04|debian-13|debian-13-mmdebstrap] [--base-image PATH|URL --base-checksum sha256:..] [--rehearsal [--rehearsal-avots tool|text] [--rehearsal-gates id,...]] ' +
  '[--no-boot-test | --upgrade-from CHANNEL|IMAGE|FILE.qcow2] [--released-at ISO] [--var name=value ...] [--image-repo REPO] [--allow-prerelease] [--dry-run] [--force] [--json]'

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
  base: { type: 'string' },
  'base-image': { type: 'string' },
  'base-checksum': { type: 'string' },
  rehearsal: { type: 'boolean', default: false },
  'rehearsal-avots': { type: 'string' },
  'rehearsal-gates': { type: 'string' },
  'boot-test': { type: 'boolean', default: false },
  'no-boot-test': { type: 'boolean', default: false },
  'upgrade-from': { type: 'string' },
} as const

/** The base images a qemu bake starts from: official cloud images, checked against their published sums. */
export const BASES: Record<string, { url: string; checksum: string } | null> = {
  'ubuntu-24.04': { url: 'https://cloud-images.ubuntu.com/releases/noble/release/ubuntu-24.04-server-cloudimg-amd64.img', checksum: 'file:https://cloud-images.ubuntu.com/releases/noble/release/SHA256SUMS' },
  'debian-13': { url: 'https://cloud.debian.org/images/cloud/trixie/latest/debian-13-genericcloud-amd64.qcow2', checksum: 'file:https://cloud.debian.org/images/cloud/trixie/latest/SHA512SUMS' },
  // built here from Debian's packages (src/vm/debian-base.ts), cached by its inputs
  'debian-13-mmdebstrap': null,
}

// Variables the command line may set: non-secret, and never the image
// reference (that is always the one resolved here).
const SETTABLE_VARS = new Set(['ubuntu_image_url', 'ubuntu_image_checksum', 'disk_size', 'memory', 'cpus', 'aws_region', 'aws_instance_type', 'aws_source_ami_owner'])

function toJson(o: BakeOutcome, error?: ClawbakeError): Record<string, unknown> {
  return {
    ok: o.ok, tag: o.tag, digest: o.digest, channel: o.channel, builder: o.builder, artifact: o.artifact, gates: o.gates,
    published: o.published, noop: o.noop, dryRun: o.dryRun, files: o.files, bakeId: o.bakeId, runDir: o.runDir,
    stages: o.stages, bootTest: o.bootTest ?? null, ...(o.plan ? { plan: o.plan } : {}), ...(error ? { error: error.toJSON() } : {}),
  }
}

export async function bakeCommand(argv: string[], io: Io, deps: BakeDeps): Promise<number> {
  const { values } = parseCommandArgs('bake', argv, options, usage)
  if (!values.tag) throw usageError(`clawbake bake: --tag is required\nusage: ${usage}`)
  const builder = values.builder as Builder
  if (!BUILDERS.includes(builder)) throw usageError(`clawbake bake: --builder must be one of ${BUILDERS.join(', ')}, got "${values.builder}"`, 'bake.builder')
  if (values['boot-test'] && values['no-boot-test']) throw usageError('clawbake bake: --boot-test and --no-boot-test contradict each other (the boot test runs by default for qemu)', 'bake.boot-test-flags')
  if (values['upgrade-from'] !== undefined && (values['no-boot-test'] || builder !== 'qemu')) throw usageError('clawbake bake: --upgrade-from is part of the boot test (qemu, without --no-boot-test)', 'bake.upgrade-from')
  if (values['upgrade-from'] !== undefined && !values['upgrade-from'].trim()) throw usageError('clawbake bake: --upgrade-from needs a channel, an image reference or a qcow2 file', 'bake.upgrade-from')
  if (values.channel && !CHANNELS.includes(values.channel as Channel)) throw usageError(`clawbake bake: --channel must be stable or extended-stable`, 'bake.channel')
  const packerVars: Record<string, string> = {}
  for (const kv of values.var ?? []) {
    const i = kv.indexOf('=')
    const name = i > 0 ? kv.slice(0, i) : ''
    if (!SETTABLE_VARS.has(name)) throw usageError(`clawbake bake: --var ${name || kv} is not settable (allowed: ${[...SETTABLE_VARS].join(', ')})`, 'bake.var')
    packerVars[name] = kv.slice(i + 1)
  }
  if (values.base !== undefined && !(values.base in BASES)) throw usageError(`clawbake bake: --base must be one of ${Object.keys(BASES).join(', ')}, got "${values.base}"`, 'bake.base')
  if ((values['base-image'] === undefined) !== (values['base-checksum'] === undefined)) throw usageError('clawbake bake: --base-image and --base-checksum go together (an unverified base image is refused)', 'bake.base-checksum')
  if (values['base-checksum'] !== undefined && !/^(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128}|file:.+)$/.test(values['base-checksum'])) throw usageError(`clawbake bake: --base-checksum must be sha256:<64 hex>, sha512:<128 hex> or file:<SUMS url>`, 'bake.base-checksum')
  if (values['base-image'] !== undefined && values.base !== undefined) throw usageError('clawbake bake: give --base or --base-image, not both', 'bake.base')
  if (values['rehearsal-avots'] !== undefined && !values.rehearsal) throw usageError('clawbake bake: --rehearsal-avots needs --rehearsal', 'bake.rehearsal')
  if (values['rehearsal-avots'] !== undefined && !['tool', 'text'].includes(values['rehearsal-avots'])) throw usageError('clawbake bake: --rehearsal-avots must be tool or text', 'bake.rehearsal')
  const onlyGates = values['rehearsal-gates']?.split(',').map(s => s.trim()).filter(Boolean)
  if (onlyGates && !values.rehearsal) throw usageError('clawbake bake: --rehearsal-gates needs --rehearsal (a bake that skips gates never publishes)', 'bake.rehearsal')
  const unknownGates = (onlyGates ?? []).filter(g => !(GATE_IDS as readonly string[]).includes(g))
  if (unknownGates.length) throw usageError(`clawbake bake: unknown gate id(s) in --rehearsal-gates: ${unknownGates.join(', ')} (known: ${GATE_IDS.join(', ')})`, 'bake.rehearsal')
  if (values.rehearsal && values['dry-run']) throw usageError('clawbake bake: --rehearsal cannot be a --dry-run: the rehearsal is the registry, base and stand-ins it starts (run it, it publishes only into its scratch tree)', 'bake.rehearsal')
  if (values.rehearsal && builder !== 'qemu') throw usageError('clawbake bake: --rehearsal is a qemu bake (--builder qemu)', 'bake.rehearsal')
  const base = values.base ? BASES[values.base] : undefined
  if (base) Object.assign(packerVars, { ubuntu_image_url: base.url, ubuntu_image_checksum: base.checksum })
  if (values['base-image'] !== undefined) Object.assign(packerVars, { ubuntu_image_url: values['base-image'], ubuntu_image_checksum: values['base-checksum'] })
  const ownBase = values.base === 'debian-13-mmdebstrap' || (values.rehearsal && !values.base && values['base-image'] === undefined)

  let rehearsal: Rehearsal | null = null
  let bakeIo = io
  // Ctrl-C / SIGTERM: Packer gets SIGINT and stops its VM, the bake fails and releases its lock, the rehearsal's
  // registries and stand-in are stopped by PID (finally, below); a second signal exits at once
  const abort = stopOnSignals(io, sig => `clawbake bake: ${sig}: stopping Packer and its VM${values.rehearsal ? ', the registries and the stand-in' : ''}`)
  try {
    if (values.rehearsal) {
      const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')
      const runDir = join(projectPaths(io.cwd).state, 'rehearsal', `${values.tag}-${stamp}-${randomBytes(2).toString('hex')}`)
      rehearsal = await startRehearsal({
        tag: values.tag, projectRoot: io.cwd, runDir, cacheDir: cacheRoot(io.env),
        ...(values['rehearsal-avots'] ? { avotsMode: values['rehearsal-avots'] as 'tool' | 'text' } : {}),
        ...(io.env.AVOTS_API_KEY ? { avotsKey: io.env.AVOTS_API_KEY } : {}),
        env: io.env,
        log: l => io.err(l + '\n'),
      })
      if (ownBase) Object.assign(packerVars, { ubuntu_image_url: rehearsal.packerVars.ubuntu_image_url, ubuntu_image_checksum: rehearsal.packerVars.ubuntu_image_checksum })
      Object.assign(packerVars, { rehearsal_registry_ca_b64: rehearsal.packerVars.rehearsal_registry_ca_b64, rehearsal_registry_addr: rehearsal.packerVars.rehearsal_registry_addr })
      bakeIo = { ...io, cwd: rehearsal.root, env: { ...io.env, ...rehearsal.env } }
      io.err(`rehearsal: the bake runs on the scratch tree ${rehearsal.root}; it publishes into its catalog/\n`)
    } else if (ownBase && !values['dry-run']) {
      const b = await buildDebianBase({ cacheDir: join(cacheRoot(io.env), 'base'), log: l => io.err(`base | ${l}\n`) })
      Object.assign(packerVars, { ubuntu_image_url: b.qcow2, ubuntu_image_checksum: `sha256:${b.sha256}` })
    }
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
        signal: abort.signal,
        // qemu: the boot test runs unless --no-boot-test (an explicit choice, recorded: the entry is published held)
        bootTest: builder === 'qemu' && !values['no-boot-test'],
        ...(values['upgrade-from'] ? { upgradeFrom: values['upgrade-from'], cwd: io.cwd } : {}),
        ...(rehearsal ? {
          image: rehearsal.image,
          ...(values['image-repo'] ? {} : { imageRepo: rehearsal.imageRepo }),
          guestfwd: rehearsal.guestfwd,
          extraSecrets: rehearsal.secrets,
          probeKernel: rehearsal.kernel,
          bootTestAvotsUrl: rehearsal.hostAvotsBaseUrl,
          ...(onlyGates?.length ? { onlyGates } : {}),
          releasedAt: values['released-at'] ?? new Date().toISOString(),
        } : {}),
      },
      bakeIo,
      deps,
    )
    if (values.json) emitJson(io, { ...toJson(outcome), ...(rehearsal ? { rehearsal: { root: rehearsal.root, stages: rehearsal.timings } } : {}) })
    return 0
  } catch (e) {
    // every message is masked: errors can quote Packer or gate output
    const masker = maskerFromEnv(io.env)
    if (e instanceof BakeFailed) {
      if (values.json) emitJson(io, { ...toJson(e.outcome, e), ...(rehearsal ? { rehearsal: { root: rehearsal.root, stages: rehearsal.timings } } : {}) })
      io.err(`clawbake bake: ${masker.mask(e.describe())}\n`)
      return e.exitCode
    }
    if (e instanceof ClawbakeError) throw new ClawbakeError(masker.mask(e.message), { file: e.file, field: e.field, rule: e.rule }, e.exitCode)
    throw e
  } finally {
    await rehearsal?.stop()
    abort.release()
  }
}

export const command: Command = {
  name: 'bake',
  summary: 'watch -> resolve -> pin -> check -> packer build -> gates -> boot test -> publish',
  usage,
  run: (argv, io) => bakeCommand(argv, io, { stages: realStages }),
}
