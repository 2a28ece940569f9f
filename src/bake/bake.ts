// The bake: one release tag in, one published, gated image out, as a list of
// stages in the order of the data flow (one file each under stages/):
//   release -> resolve -> pin -> check -> prepare -> validate -> build (gates
//   in the VM, or on this machine for the null rehearsal) -> gates -> inspect
//   -> publish
// Resolved ONCE: the digest is passed down to pin, to Packer (as a variable)
// and to publish; nothing downstream resolves again. Every line shown or
// logged is masked. Publishes only when every gate passed and the image is
// exactly the pin.
import { randomBytes, randomInt } from 'node:crypto'
import { appendFileSync, writeFileSync } from 'node:fs'
import { ClawbakeError } from '../errors.ts'
import type { Io } from '../io.ts'
import { projectPaths } from '../paths.ts'
import { ineligibility, parseVersion, type Channel } from '../releases/version.ts'
import { DEFAULT_IMAGE, DEFAULT_UBUNTU_URL, DIGEST_RE } from './defaults.ts'
import { acquireBakeLock } from './lock.ts'
import { maskerFromEnv } from './mask.ts'
import { assertPrerequisites } from './prerequisites.ts'
import { pipeline, runStages, type BakeContext } from './stages/stage.ts'
import { BakeFailed, type BakeDeps, type BakeOutcome, type BakeRequest } from './stages/types.ts'
import { release } from './stages/release.ts'
import { resolve } from './stages/resolve.ts'
import { published } from './stages/published.ts'
import { dryRun } from './stages/dry-run.ts'
import { pin } from './stages/pin.ts'
import { check } from './stages/check.ts'
import { runDir } from './stages/run-dir.ts'
import { prepare } from './stages/prepare.ts'
import { validate } from './stages/validate.ts'
import { build } from './stages/build.ts'
import { gates } from './stages/gates.ts'
import { inspect } from './stages/inspect.ts'
import { bootTest } from './stages/boot-test.ts'
import { publish } from './stages/publish.ts'
import { done } from './stages/done.ts'

export { DEFAULT_IMAGE, DEFAULT_UBUNTU_URL, DIGEST_RE, MANIFEST_SCHEMA } from './defaults.ts'
export { BakeFailed, type BakeDeps, type BakeOutcome, type BakeRequest, type StageTiming } from './stages/types.ts'

function fmtElapsed(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`.padStart(7)
}

/** Registry host of an image reference (`ghcr.io/openclaw/openclaw` -> ghcr.io; Docker Hub when there is none). */
export function registryHost(ref: string): string {
  const first = ref.split('/')[0] ?? ''
  return first.includes('.') || first.includes(':') || first === 'localhost' ? first.replace(/:\d+$/, '') : 'registry-1.docker.io'
}

/** Host of an http(s) URL; '' for a local path or file: URL (nothing to look up). */
export function urlHost(url: string): string {
  if (!/^https?:\/\//i.test(url)) return ''
  try {
    return new URL(url).hostname
  } catch {
    return ''
  }
}

/**
 * The bake, in order. Each stage reads the outputs of earlier ones by name
 * (a stage listed before one it reads is a type error); the steps between
 * them (published, dry-run, run-dir, done) are untimed and may end the bake.
 */
export const STAGES = pipeline([
  release,
  resolve,
  published,
  dryRun,
  pin,
  check,
  runDir,
  prepare,
  validate,
  build,
  gates,
  inspect,
  bootTest,
  publish,
  done,
])

export async function runBake(req: BakeRequest, io: Io, deps: BakeDeps): Promise<BakeOutcome> {
  const ctx = bakeContext(req, io, deps)
  ctx.say(`clawbake bake ${ctx.tag} (channel ${ctx.channel}, builder ${req.builder}${req.dryRun ? ', dry run' : ''}${req.force ? ', --force' : ''})`)
  const ubuntuUrl = req.packerVars?.ubuntu_image_url ?? DEFAULT_UBUNTU_URL
  await assertPrerequisites({
    builder: req.builder,
    env: io.env,
    hosts: [
      ...(req.digest ? [] : [registryHost(ctx.registryImage)]),
      ...(req.builder === 'qemu' ? [urlHost(ubuntuUrl), urlHost((req.packerVars?.ubuntu_image_checksum ?? '').replace(/^file:/, ''))] : []),
    ].filter(Boolean),
    ...(deps.resolveHost ? { resolveHost: deps.resolveHost } : {}),
  })
  const lock = req.dryRun ? null : acquireBakeLock(ctx.root, { tag: ctx.tag, now: ctx.started })
  if (lock?.replaced) ctx.say(`clawbake: took over a stale bake lock (pid ${lock.replaced.pid} is gone)`)
  try {
    return await runStages(ctx, STAGES)
  } finally {
    lock?.release()
  }
}

/** The request checked (it fails before anything is touched) and the state every stage shares. */
function bakeContext(req: BakeRequest, io: Io, deps: BakeDeps): BakeContext {
  const masker = maskerFromEnv(io.env)
  const gatewayToken = randomBytes(32).toString('hex')
  masker.add(gatewayToken)
  // the gate run's Bot API token: made here, so it is masked and searched for on the captured disk
  const botToken = `${randomInt(1_000_000_000, 9_000_000_000)}:${randomBytes(27).toString('base64url')}`
  masker.add(botToken)
  for (const s of req.extraSecrets ?? []) masker.add(s.value)

  const version = parseVersion(req.tag, { field: '--tag' })
  const tag = version.version
  const channel: Channel = req.channel ?? version.channel
  const why = ineligibility(version, { channel, allowPrerelease: req.allowPrerelease ?? false })
  if (why) throw new ClawbakeError(`refusing to bake ${tag}: ${why}`, { field: '--tag', rule: 'bake.ineligible' }, 1)
  if (req.digest !== undefined && !DIGEST_RE.test(req.digest)) {
    throw new ClawbakeError(`--digest must be sha256:<64 lowercase hex>, got "${req.digest}"`, { field: '--digest', rule: 'bake.digest-malformed' }, 2)
  }
  if (req.releasedAt !== undefined && Number.isNaN(Date.parse(req.releasedAt))) {
    throw new ClawbakeError(`--released-at must be an ISO 8601 time, got "${req.releasedAt}"`, { field: '--released-at', rule: 'bake.released-at-malformed' }, 2)
  }

  const t0 = Date.now()
  const logLines: string[] = []
  let logFile: string | null = null
  const outcome: BakeOutcome = {
    ok: false, tag, digest: null, channel, builder: req.builder, artifact: null, gates: null, published: false, noop: false,
    dryRun: req.dryRun, files: [], stages: [], bakeId: null, runDir: null,
  }
  const say = (line: string) => {
    const masked = masker.mask(line)
    io.err(masked + '\n')
    if (logFile) appendFileSync(logFile, masked + '\n')
    else logLines.push(masked)
  }
  return {
    req, io, deps, root: io.cwd, paths: projectPaths(io.cwd), started: io.now(), tag, channel,
    registryImage: req.image ?? DEFAULT_IMAGE,
    masker, secrets: { gatewayToken, botToken }, outcome, say,
    progress: (name, text) => say(`[${fmtElapsed(Date.now() - t0)}] ${name.padEnd(9)} ${text}`),
    log: line => appendFileSync(logFile as string, line + '\n'),
    openLog: file => {
      logFile = file
      writeFileSync(file, logLines.map(l => l + '\n').join(''))
    },
    fail: (e: unknown): never => {
      if (e instanceof BakeFailed) throw e
      if (e instanceof ClawbakeError) throw new BakeFailed(new ClawbakeError(masker.mask(e.message), { file: e.file, field: e.field, rule: e.rule }, e.exitCode), outcome)
      throw e
    },
  }
}
