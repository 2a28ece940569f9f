// The bake: one release tag in, one published, gated image out.
//   release -> resolve -> pin -> check -> packer validate -> packer build
//   (gates in the VM, or on this machine for the null rehearsal) -> gate
//   report -> publish
// Resolved ONCE: the digest is passed down to pin, to Packer (as a variable)
// and to publish; nothing downstream resolves again. Every line shown or
// logged is masked. Publishes only when every gate passed and the image is
// exactly the pin.
import { randomBytes, randomInt } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync, appendFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { ClawbakeError } from '../errors.ts'
import { hashFile } from '../file-hash.ts'
import type { Io } from '../io.ts'
import { PACKAGE_ROOT, projectPaths } from '../paths.ts'
import { readPinRecord } from '../pins/record.ts'
import { ineligibility, parseVersion, type Channel } from '../releases/version.ts'
import { assertSchema } from '../schema/validate.ts'
import { findPublished, readCatalog, type CatalogArtifact } from '../publish/catalog.ts'
import { assertGatesPassed, publishImage } from '../publish/publish.ts'
import { GATE_IDS, type BakeStages, type GateReport, type ResolvedImage } from './contract.ts'
import { acquireBakeLock, type BakeLock } from './lock.ts'
import { maskerFromEnv, type Masker } from './mask.ts'
import { packerBuild, packerInfo, packerSource, packerValidate, which, type Builder, type PackerRun } from './packer.ts'
import { assertPrerequisites } from './prerequisites.ts'
import { inspectDisk } from './inspect.ts'
import { assertBaseChecksum, probeAccelerator, qemuSettings } from './qemu.ts'
import { tail } from '../proc/run.ts'
import { readReleaseRecord, type ReleaseInfo } from './release.ts'
import { bundleGates } from './bundle.ts'
import { writeSeed } from './seed.ts'
import { stageTemplate } from './template.ts'

export const DEFAULT_IMAGE = 'ghcr.io/openclaw/openclaw'
export const DEFAULT_UBUNTU_URL = 'https://cloud-images.ubuntu.com/releases/noble/release/ubuntu-24.04-server-cloudimg-amd64.img'
export const DIGEST_RE = /^sha256:[0-9a-f]{64}$/
export const MANIFEST_SCHEMA = 'bake-manifest.schema.json'

export interface BakeRequest {
  tag: string
  builder: Builder
  dryRun: boolean
  force: boolean
  /** repository to resolve the tag on (a mirror or loopback registry); the baked reference is always ghcr.io/openclaw/openclaw */
  image?: string
  /** skip resolve: bake this (format-checked) index digest */
  digest?: string
  channel?: Channel
  /** upstream publishedAt when catalog/releases.json and GitHub cannot say */
  releasedAt?: string
  allowPrerelease?: boolean
  /** GitHub repository watched (default openclaw/openclaw) */
  repo?: string
  /** extra -var settings for Packer (non-secret), e.g. ubuntu_image_url for a local mirror */
  packerVars?: Record<string, string>
  /** qemu: guest address:port forwarded to a host loopback port (the rehearsal's ghcr.io) */
  guestfwd?: { addr: string; port: number; hostPort: number }[]
  /** more values to mask everywhere and to search the captured disk for (the rehearsal CA key) */
  extraSecrets?: { name: string; value: string }[]
  /** qemu: a kernel to probe the accelerator with (else the host's, else TCG without a probe) */
  probeKernel?: string
  /** Ctrl-C / SIGTERM: Packer stops its VM, the bake fails, the lock is released */
  signal?: AbortSignal
  /** rehearsal only: run just these gates (a verdict rehearsal; publish still requires every gate, so it never publishes) */
  onlyGates?: string[]
  /** image store repository for the qcow2 (`--image-repo`); none: the entry is held until `clawbake image push` */
  imageRepo?: string
}

export interface BakeDeps {
  stages: BakeStages
  /** DNS check of the hosts the bake needs; tests pass a stand-in */
  resolveHost?: (host: string) => Promise<void>
  /** how shell-local provisioners start clawbake (rehearsal) */
  clawbakeCommand?: string
}

export interface StageTiming {
  stage: string
  ms: number
  detail: string
}

export interface BakeOutcome {
  ok: boolean
  tag: string
  digest: string | null
  channel: Channel
  builder: Builder
  artifact: CatalogArtifact | null
  gates: GateReport | null
  published: boolean
  noop: boolean
  dryRun: boolean
  files: string[]
  stages: StageTiming[]
  bakeId: string | null
  runDir: string | null
  plan?: string[]
}

/** A bake that failed after it started: carries what is known so far (gate report, stages). */
export class BakeFailed extends ClawbakeError {
  outcome: BakeOutcome
  constructor(cause: ClawbakeError, outcome: BakeOutcome) {
    super(cause.message, { file: cause.file, field: cause.field, rule: cause.rule }, cause.exitCode, { cause })
    this.outcome = outcome
  }
}

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

function newBakeId(tag: string, now: Date): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')
  return `${tag}-${stamp}-${randomBytes(3).toString('hex')}`.slice(0, 64)
}

interface PackerManifest {
  builds: { name: string; builder_type: string; artifact_id: string; files: { name: string; size: number }[] | null; packer_run_uuid: string; custom_data?: Record<string, string> }[]
  last_run_uuid: string
}

export async function runBake(req: BakeRequest, io: Io, deps: BakeDeps): Promise<BakeOutcome> {
  const root = io.cwd
  const paths = projectPaths(root)
  const started = io.now()
  const t0 = Date.now()
  const masker: Masker = maskerFromEnv(io.env)
  const gatewayToken = randomBytes(32).toString('hex')
  masker.add(gatewayToken)
  // the gate run's Bot API token: made here, so it is masked and searched for on the captured disk
  const botToken = `${randomInt(1_000_000_000, 9_000_000_000)}:${randomBytes(27).toString('base64url')}`
  masker.add(botToken)
  for (const s of req.extraSecrets ?? []) masker.add(s.value)

  const logLines: string[] = []
  let logFile: string | null = null
  const say = (line: string) => {
    const masked = masker.mask(line)
    io.err(masked + '\n')
    if (logFile) appendFileSync(logFile, masked + '\n')
    else logLines.push(masked)
  }
  const stages: StageTiming[] = []
  const stage = async <T>(name: string, fn: () => Promise<{ value: T; detail: string }>): Promise<T> => {
    const s = Date.now()
    const { value, detail } = await fn()
    const ms = Date.now() - s
    stages.push({ stage: name, ms, detail: masker.mask(detail) })
    say(`[${fmtElapsed(Date.now() - t0)}] ${name.padEnd(9)} ${detail}`)
    return value
  }

  // --- the request itself: fail before anything is touched
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
  const registryImage = req.image ?? DEFAULT_IMAGE
  const outcome: BakeOutcome = {
    ok: false, tag, digest: null, channel, builder: req.builder, artifact: null, gates: null, published: false, noop: false,
    dryRun: req.dryRun, files: [], stages, bakeId: null, runDir: null,
  }
  const fail = (e: unknown): never => {
    if (e instanceof BakeFailed) throw e
    if (e instanceof ClawbakeError) throw new BakeFailed(new ClawbakeError(masker.mask(e.message), { file: e.file, field: e.field, rule: e.rule }, e.exitCode), outcome)
    throw e
  }

  say(`clawbake bake ${tag} (channel ${channel}, builder ${req.builder}${req.dryRun ? ', dry run' : ''}${req.force ? ', --force' : ''})`)

  const ubuntuUrl = req.packerVars?.ubuntu_image_url ?? DEFAULT_UBUNTU_URL
  await assertPrerequisites({
    builder: req.builder,
    env: io.env,
    hosts: [
      ...(req.digest ? [] : [registryHost(registryImage)]),
      ...(req.builder === 'qemu' ? [urlHost(ubuntuUrl), urlHost((req.packerVars?.ubuntu_image_checksum ?? '').replace(/^file:/, ''))] : []),
    ].filter(Boolean),
    ...(deps.resolveHost ? { resolveHost: deps.resolveHost } : {}),
  })

  let lock: BakeLock | null = null
  if (!req.dryRun) {
    lock = acquireBakeLock(root, { tag, now: started })
    if (lock.replaced) say(`clawbake: took over a stale bake lock (pid ${lock.replaced.pid} is gone)`)
  }
  try {
    // --- release: when upstream published it (time-to-patch starts there)
    const release = await stage('release', async () => {
      let info: ReleaseInfo | null = readReleaseRecord(root, tag)
      if (!info && req.releasedAt) {
        info = { tag, publishedAt: new Date(req.releasedAt).toISOString(), url: null, urgency: null, dueBy: null, advisories: [], source: '--released-at' }
      }
      if (!info) {
        const w = await deps.stages.watch({ root, env: io.env, now: started, channel, ...(req.repo ? { repo: req.repo } : {}), record: !req.dryRun })
        info = readReleaseRecord(root, tag)
        if (!info && w.latest && w.latest.tag.replace(/^v/, '') === tag) {
          info = { tag, publishedAt: new Date(w.latest.publishedAt).toISOString(), url: w.latest.url, urgency: w.urgency, dueBy: w.dueBy, advisories: w.advisories, source: 'GitHub (watch)' }
        }
      }
      if (!info) {
        throw new ClawbakeError(
          `no release record for ${tag}: catalog/releases.json has no entry and the watch did not report it as the latest ${channel} release; run \`clawbake watch\` or pass --released-at`,
          { file: 'catalog/releases.json', field: '/releases', rule: 'bake.release-unknown' },
          2,
        )
      }
      if (req.releasedAt) info.publishedAt = new Date(req.releasedAt).toISOString()
      return { value: info, detail: `${tag} published ${info.publishedAt} (${info.source}), urgency ${info.urgency ?? 'none'}${info.dueBy ? `, due ${info.dueBy}` : ''}` }
    }).catch(fail)

    // --- resolve: the one and only time the digest is looked up
    const resolved = await stage('resolve', async () => {
      let r: ResolvedImage
      if (req.digest) {
        const pin = existsSync(paths.pinsLock) ? readPinRecord(paths.pinsLock) : null
        const same = pin && pin.tag === tag && pin.digest === req.digest
        r = { image: DEFAULT_IMAGE, tag, digest: req.digest, mediaType: same ? pin.mediaType : 'application/vnd.oci.image.index.v1+json', platforms: same ? pin.platforms : [] }
        return { value: r, detail: `${DEFAULT_IMAGE}:${tag} -> ${r.digest} (given with --digest: not looked up on a registry)` }
      }
      r = await deps.stages.resolve({ image: registryImage, tag }, { env: io.env, allowPrerelease: req.allowPrerelease ?? false })
      if (r.tag !== tag || !DIGEST_RE.test(r.digest)) {
        throw new ClawbakeError(`resolve returned ${r.tag} ${r.digest} for ${tag}`, { field: 'digest', rule: 'bake.resolve-invalid' }, 1)
      }
      return { value: r, detail: `${registryImage}:${tag} -> ${r.digest} (${r.mediaType.includes('index') || r.mediaType.includes('list') ? 'index' : 'manifest'}, ${r.platforms.length} platform${r.platforms.length === 1 ? '' : 's'})` }
    }).catch(fail)
    outcome.digest = resolved.digest
    const imageRef = `${DEFAULT_IMAGE}:${tag}@${resolved.digest}`

    // --- idempotency: the same tag and digest already published is a no-op
    const catalog = readCatalog(root, channel)
    const existing = findPublished(catalog, tag, resolved.digest)
    if (existing && !req.force) {
      say(`[${fmtElapsed(Date.now() - t0)}] done      ${tag} ${resolved.digest} is already published on ${channel} (${existing.publishedAt}); nothing to do (--force bakes it again)`)
      return { ...outcome, ok: true, noop: true, artifact: existing.artifact, gates: existing.gates }
    }

    if (req.dryRun) {
      const plan = [
        `pin      ${imageRef} into docker-compose.yml, pins.lock.json, CHANGELOG.md${existsSync(paths.pinsLock) && readPinRecord(paths.pinsLock).digest === resolved.digest ? ' (already pinned)' : ''}`,
        'check    hardening policy over packer/files/',
        `validate packer validate -only=${packerSource(req.builder)} (packer/clawbake.pkr.hcl)`,
        `build    packer build -machine-readable -only=${packerSource(req.builder)} with openclaw_image=${imageRef}` +
          (req.builder === 'null' ? ' (gates: clawbake verify --local on this machine)' : ' (gates inside the VM)'),
        `publish  catalog/${channel}.json${existing ? ' (again: --force)' : ''}, catalog/notes/${tag}.md, CHANGELOG.md - only if every gate passes`,
      ]
      say('dry run: nothing was written. The bake would:')
      for (const p of plan) say(`  ${p}`)
      return { ...outcome, ok: true, plan }
    }

    // --- pin: the digest resolved above, nothing else
    await stage('pin', async () => {
      const p = await deps.stages.pin(resolved, { root, now: started, ...(release.url ? { sourceRelease: release.url } : {}) })
      const record = readPinRecord(paths.pinsLock)
      if (record.tag !== tag || record.digest !== resolved.digest) {
        throw new ClawbakeError(`after pinning, pins.lock.json says ${record.tag} ${record.digest}, not ${tag} ${resolved.digest}`, { file: paths.pinsLock, field: '/digest', rule: 'bake.pin-mismatch' }, 1)
      }
      return { value: p, detail: p.changed ? `pinned ${tag} ${resolved.digest} (${p.files.join(', ')})` : `unchanged (already ${tag} ${resolved.digest})` }
    }).catch(fail)

    // --- check: every artifact that goes into the image
    await stage('check', async () => {
      const report = await deps.stages.check({ root, env: io.env })
      if (!report.ok) {
        const first = report.findings[0]
        throw new ClawbakeError(
          `policy check failed with ${report.findings.length} finding(s): ${report.findings.slice(0, 5).map(f => `${f.file}: ${f.path}: [${f.rule}] ${f.message}`).join('; ')}; nothing was built or published`,
          { file: first?.file, field: first?.path, rule: 'bake.check-failed' },
          1,
        )
      }
      return { value: report, detail: `ok (${report.findings.length} findings)` }
    }).catch(fail)

    // --- the run directory: seed, gate bundle, variables, manifest, report, log
    const bakeId = newBakeId(tag, started)
    const runDir = join(paths.state, 'bake', bakeId)
    mkdirSync(runDir, { recursive: true })
    outcome.bakeId = bakeId
    outcome.runDir = runDir
    logFile = join(runDir, 'bake.log')
    writeFileSync(logFile, logLines.map(l => l + '\n').join(''))
    const manifestPath = join(runDir, 'manifest.json')
    rmSync(manifestPath, { force: true })
    const reportPath = join(runDir, 'gate-report.json')
    const outputDir = join(paths.state, 'artifacts', bakeId)

    const packerBin = which(io.env.CLAWBAKE_PACKER ?? 'packer', io.env) as string
    const info = await packerInfo(packerBin, io.env)
    const vars: Record<string, unknown> = {
      openclaw_image: imageRef,
      channel,
      released_at: release.publishedAt,
      bake_started_at: started.toISOString(),
      bake_id: bakeId,
      run_dir: runDir,
      manifest_path: manifestPath,
      gate_ids: req.onlyGates?.length ? req.onlyGates : [...GATE_IDS],
      avots_base_url: io.env.AVOTS_BASE_URL ?? 'https://api.avots.ai/openai/v1',
      clawbake_command: deps.clawbakeCommand ?? `${process.execPath} ${join(PACKAGE_ROOT, 'bin', 'clawbake.js')}`,
      project_root: root,
      output_directory: outputDir,
      ...req.packerVars,
    }
    await stage('prepare', async () => {
      const done: string[] = []
      if (req.builder === 'qemu') {
        const seed = await writeSeed(runDir, bakeId)
        vars.ssh_private_key_file = seed.privateKey
        await assertBaseChecksum(String(vars.ubuntu_image_url ?? DEFAULT_UBUNTU_URL), String(vars.ubuntu_image_checksum ?? ''))
        const accel = await probeAccelerator(req.probeKernel, io.env)
        const q = qemuSettings(accel.accelerator, { serialLog: join(runDir, 'serial.log'), guestfwd: req.guestfwd ?? [] })
        Object.assign(vars, q.vars)
        done.push(`NoCloud seed (cidata), accelerator ${accel.accelerator} (${accel.why}), timeouts x${q.scale}`)
      }
      if (req.builder !== 'null') {
        const b = await bundleGates(join(runDir, 'gates'))
        done.push(`gate bundle ${(b.bytes / 1024).toFixed(0)} KiB`)
      }
      writeFileSync(join(runDir, 'bake.pkrvars.json'), JSON.stringify(vars, null, 2) + '\n')
      done.push(`packer ${info.version}${info.modern ? ' (staged template with error-cleanup-provisioner)' : ' (1.6: no error-cleanup-provisioner; the gate report is fetched before the verdict)'}`)
      return { value: null, detail: `${relative(root, runDir)}: ${done.join(', ')}` }
    }).catch(fail)

    const packerRun: PackerRun = {
      bin: packerBin,
      dir: stageTemplate(paths.packerDir, runDir, info.modern),
      env: {
        ...io.env, // packerEnv() drops PACKER_LOG/PACKER_LOG_PATH (an unmasked debug log)
        PKR_VAR_avots_api_key: io.env.AVOTS_API_KEY,
        PKR_VAR_gate_gateway_token: gatewayToken,
        PKR_VAR_gate_bot_token: botToken,
        PACKER_CACHE_DIR: io.env.PACKER_CACHE_DIR ?? join(paths.state, 'packer-cache'),
        CLAWBAKE_ROOT: root,
      },
      masker,
      log: line => appendFileSync(logFile as string, line + '\n'),
      ...(req.signal ? { signal: req.signal } : {}),
    }
    const varFile = join(runDir, 'bake.pkrvars.json')

    await stage('validate', async () => {
      const v = await packerValidate({ ...packerRun, log: line => appendFileSync(logFile as string, `validate: ${line}\n`) }, varFile, req.builder)
      if (v.code !== 0) {
        throw new ClawbakeError(`packer validate failed: ${v.output.trim().split('\n').filter(Boolean).slice(0, 12).join(' | ')}`, { file: 'packer/clawbake.pkr.hcl', rule: 'bake.packer-validate' }, 1)
      }
      return { value: null, detail: `template valid (packer ${info.version}, source ${packerSource(req.builder)})` }
    }).catch(fail)

    const build = await stage('build', async () => {
      const b = await packerBuild({ ...packerRun, progress: line => say(`[${fmtElapsed(Date.now() - t0)}] build     | ${line}`) }, varFile, req.builder)
      return { value: b, detail: b.code === 0 ? 'packer build finished' : `packer build failed (exit ${b.code})` }
    }).catch(fail)
    if (req.signal?.aborted) fail(new ClawbakeError('interrupted: Packer was stopped (it stops the VM and removes what it made); nothing was published', { rule: 'bake.interrupted' }, 2))

    // --- the gate report: the only thing that decides publication
    const statusPath = join(runDir, 'gate-status')
    const gateStatus = existsSync(statusPath) ? masker.mask(readFileSync(statusPath, 'utf8').split('\n')[0] ?? '') : 'no gate status (the gate run did not finish)'
    const report: GateReport | null = readGateReport(reportPath, masker)
    const reportLeaked = existsSync(reportPath) && masker.mask(readFileSync(reportPath, 'utf8')) !== readFileSync(reportPath, 'utf8')
    outcome.gates = report
    if (build.code !== 0) {
      if (report) {
        try {
          assertGatesPassed(report, GATE_IDS, reportPath)
        } catch (e) {
          say(`[${fmtElapsed(Date.now() - t0)}] gates     FAILED: ${(e as Error).message}`)
          fail(e)
        }
      }
      if (gateStatus !== 'passed') {
        say(`[${fmtElapsed(Date.now() - t0)}] gates     FAILED: ${gateStatus}`)
        fail(new ClawbakeError(`gate run failed: ${gateStatus}; nothing was published`, { file: reportPath, rule: 'publish.gate-failed' }, 1))
      }
      const serial = join(runDir, 'serial.log')
      const serialTail = req.builder === 'qemu' && existsSync(serial) ? `; serial console (${serial}): ${tail(masker.mask(readFileSync(serial, 'utf8').replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '')), 15)}` : ''
      fail(new ClawbakeError(`packer build failed: ${[...new Set(build.errors)].slice(0, 5).join(' | ') || `exit ${build.code}`}${serialTail}; nothing was published`, { file: 'packer/clawbake.pkr.hcl', rule: 'bake.packer-build' }, 1))
    }

    const gates = await stage('gates', async () => {
      if (!existsSync(manifestPath)) throw new ClawbakeError('packer build succeeded but wrote no manifest', { file: manifestPath, rule: 'bake.manifest-missing' }, 1)
      const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as PackerManifest
      const mine = manifest.builds.filter(b => b.packer_run_uuid === manifest.last_run_uuid)
      if (mine.length !== 1) throw new ClawbakeError(`expected one build of this run in the manifest, found ${mine.length}`, { file: manifestPath, field: '/builds', rule: 'bake.manifest-invalid' }, 1)
      const b = mine[0] as PackerManifest['builds'][number]
      const custom = assertSchema<Record<string, string>>(MANIFEST_SCHEMA, b.custom_data ?? {}, manifestPath, 'bake.manifest-invalid')
      for (const [field, want] of [['tag', tag], ['index_digest', resolved.digest], ['openclaw_image', imageRef], ['bake_id', bakeId], ['gate_report', reportPath]] as const) {
        if (custom[field] !== want) throw new ClawbakeError(`custom_data.${field} is "${custom[field]}", expected "${want}"`, { file: manifestPath, field: `/custom_data/${field}`, rule: 'bake.manifest-mismatch' }, 1)
      }
      if (!report) throw new ClawbakeError('the gate run left no report', { file: reportPath, rule: 'publish.gate-failed' }, 1)
      if (reportLeaked) throw new ClawbakeError('the gate report contains a secret value (shown masked here); nothing was published', { file: reportPath, rule: 'publish.secret-leak' }, 1)
      assertGatesPassed(report, GATE_IDS, reportPath)
      outcome.artifact = await artifactOf(req.builder, b, root)
      return { value: report, detail: `${report.gates.length}/${report.gates.length} passed (OpenClaw ${report.openclawVersion}): ${custom.gate_summary ?? ''}` }
    }).catch(fail)

    if (req.builder === 'qemu') {
      await stage('inspect', async () => {
        const artifact = outcome.artifact as CatalogArtifact
        const secrets = [
          ...(io.env.AVOTS_API_KEY ? [{ name: 'the avots API key', value: io.env.AVOTS_API_KEY }] : []),
          { name: 'the gateway token', value: gatewayToken },
          { name: 'the bot token', value: botToken },
          ...(req.extraSecrets ?? []),
        ]
        const r = await inspectDisk(join(root, artifact.id), { secrets, workDir: runDir, log: l => say(`[${fmtElapsed(Date.now() - t0)}] inspect   ${l}`) })
        writeFileSync(join(runDir, 'inspection.json'), JSON.stringify(r, null, 2) + '\n')
        if (!r.ok) {
          throw new ClawbakeError(`the captured disk is not clean: ${r.findings.join('; ')}; nothing was published`, { file: artifact.id, rule: 'bake.disk-not-clean' }, 1)
        }
        return { value: r, detail: `clean: ${(r.bytes / 2 ** 30).toFixed(1)} GiB of raw disk searched for ${secrets.length} secrets, ${r.checked.length - 1} leftover checks` }
      }).catch(fail)
    }

    const published = await stage('publish', async () => {
      const r = await publishImage({
        root, channel, tag, image: DEFAULT_IMAGE, digest: resolved.digest, platforms: resolved.platforms,
        artifact: outcome.artifact as CatalogArtifact, gates, gateReportFile: reportPath, requiredGates: GATE_IDS,
        urgency: release.urgency, releasedAt: release.publishedAt, bakeStartedAt: started.toISOString(), now: io.now(),
        bakeId, releaseUrl: release.url, advisories: release.advisories, masker,
        // no boot-test stage yet: the channel moves by `clawbake channel set` after one
        env: io.env, imageRepo: req.imageRepo ?? null, bootTestPassed: false, force: req.force,
      })
      return { value: r, detail: `${r.files.join(', ')} (time to patch ${r.entry.timeToPatchHours} h)` }
    }).catch(fail)

    say(`[${fmtElapsed(Date.now() - t0)}] done      published OpenClaw ${tag} ${resolved.digest} on ${channel}: ${published.entry.artifact.builder} ${published.entry.artifact.id}`)
    return { ...outcome, ok: true, published: true, files: published.files }
  } finally {
    lock?.release()
  }
}

/** The gate report the run left, or null when there is none or it is not a gate report (a crashed runner). */
function readGateReport(file: string, masker: Masker): GateReport | null {
  if (!existsSync(file)) return null
  try {
    const v = JSON.parse(masker.mask(readFileSync(file, 'utf8'))) as GateReport
    if (typeof v === 'object' && v !== null && typeof v.ok === 'boolean' && Array.isArray(v.gates) && v.gates.length > 0) return v
  } catch { /* not JSON: treated as no report */ }
  return null
}

async function artifactOf(builder: Builder, b: { artifact_id: string; files: { name: string; size: number }[] | null }, root: string): Promise<CatalogArtifact> {
  if (builder === 'qemu') {
    const f = (b.files ?? []).find(x => x.name.endsWith('.qcow2')) ?? b.files?.[0]
    if (!f) throw new ClawbakeError('the qemu build reported no image file', { field: '/builds/files', rule: 'bake.artifact-missing' }, 1)
    const abs = f.name.startsWith('/') ? f.name : join(root, 'packer', f.name)
    return { builder, id: relative(root, abs), sha256: await hashFile(abs), sizeBytes: statSync(abs).size }
  }
  return { builder, id: b.artifact_id, sha256: null, sizeBytes: null }
}

