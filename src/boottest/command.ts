// `clawbake boot-test <qcow2> [--rehearsal] [--once] [--build-identity F] [--json]`:
// boot a captured image as a client's VM and prove it (boot-test.ts). The
// pinned reference and the build VM's identity come from the catalog entry
// of that qcow2 (matched by sha256) when there is one; else the pin the image
// carries (its compose file, read on the VM) and --build-identity. Exit 0 every check passed, 1 one
// failed, 2 usage or environment.
import { randomBytes } from 'node:crypto'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { Command } from '../cli/command.ts'
import { commonOptions, parseCommandArgs } from '../cli/args.ts'
import { stopOnSignals } from '../cli/stop-signals.ts'
import { ClawbakeError, envError, usageError } from '../errors.ts'
import { hashFile } from '../file-hash.ts'
import { emitJson } from '../io.ts'
import { projectPaths } from '../paths.ts'
import { maskerFromEnv } from '../bake/mask.ts'
import { clockFor, probeAccelerator } from '../bake/qemu.ts'
import { chooseClock } from '../vm/accelerator.ts'
import { DEFAULT_AVOTS_BASE_URL } from '../gates/suite.ts'
import type { CatalogEntry } from '../publish/catalog.ts'
import { bootTimeouts, failedChecks, runBootTest, type BootTestReport } from './boot-test.ts'
import { upgradeSource } from './previous.ts'
import { assertIdentity, type MachineIdentity } from './checks.ts'

const usage = 'clawbake boot-test <image.qcow2> [--rehearsal] [--once | --upgrade-from CHANNEL|IMAGE|FILE.qcow2] [--build-identity FILE] [--json]   (AVOTS_API_KEY, AVOTS_BASE_URL unless --rehearsal)'

/** The catalog entry of this qcow2, by its sha256, in any channel. */
function catalogEntryOf(root: string, sha256: string): CatalogEntry | null {
  const dir = projectPaths(root).catalog
  if (!existsSync(dir)) return null
  for (const f of readdirSync(dir).filter(n => /^[a-z-]+\.json$/.test(n) && n !== 'releases.json')) {
    try {
      const c = JSON.parse(readFileSync(join(dir, f), 'utf8')) as { entries?: CatalogEntry[] }
      const e = (c.entries ?? []).filter(x => x.artifact?.sha256 === sha256).at(-1)
      if (e) return e
    } catch { /* not a catalog */ }
  }
  return null
}

export function renderBootReport(r: BootTestReport): string {
  const lines = [`boot test of ${r.image} (${r.accelerator}, ${(r.wallMs / 1000).toFixed(0)} s): ${r.ok ? 'passed' : 'FAILED'}`]
  for (const g of r.gates) lines.push(`  ${g.ok ? 'ok  ' : 'FAIL'} ${g.id.padEnd(18)} ${(g.ms / 1000).toFixed(1).padStart(6)} s  ${g.detail}`)
  for (const t of r.timings) lines.push(`  ${t.stage}: ${(t.ms / 1000).toFixed(1)} s`)
  lines.push(`  kept: ${r.dir} (overlays, serial logs, report)`)
  return lines.join('\n') + '\n'
}

export const command: Command = {
  name: 'boot-test',
  summary: 'boot a captured image as a client VM (cloud-init, owner, stranger, tunnel, secrets, egress, upgrade with its state disk and back, second client; --upgrade-from the image clients run)',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs('boot-test', argv, {
      ...commonOptions,
      rehearsal: { type: 'boolean', default: false },
      once: { type: 'boolean', default: false },
      'build-identity': { type: 'string' },
      'upgrade-from': { type: 'string' },
    }, usage, { min: 1, max: 1 })
    if (values['upgrade-from'] !== undefined && (values.once || !values['upgrade-from'].trim())) throw usageError(`clawbake boot-test: --upgrade-from needs a channel, an image reference or a qcow2 file, and more than --once's one boot\nusage: ${usage}`, 'boot-test.upgrade-from')
    const image = resolve(io.cwd, positionals[0] as string)
    if (!existsSync(image)) throw new ClawbakeError(`the image ${image} does not exist`, { file: image, rule: 'boot-test.image-missing' }, 2)
    const root = io.cwd
    const sha256 = await hashFile(image)
    const entry = catalogEntryOf(root, sha256)
    // a published image: what its catalog entry says; otherwise the pin the image carries (read on the VM)
    const pinnedRef = entry ? `${entry.image ?? 'ghcr.io/openclaw/openclaw'}:${entry.tag}@${entry.digest}` : null
    const version = entry ? entry.tag : null
    let buildIdentity: MachineIdentity | null = (entry as (CatalogEntry & { buildVm?: MachineIdentity }) | null)?.buildVm ?? null
    if (values['build-identity']) {
      const f = resolve(io.cwd, values['build-identity'])
      let v: unknown
      try {
        v = JSON.parse(readFileSync(f, 'utf8'))
      } catch (e) {
        throw new ClawbakeError(`cannot read the build identity: ${(e as Error).message}`, { file: f, rule: 'boot-test.identity-invalid' }, 2)
      }
      buildIdentity = assertIdentity(v, f)
    }

    const masker = maskerFromEnv(io.env)
    let avotsUpstream = (io.env.AVOTS_BASE_URL || DEFAULT_AVOTS_BASE_URL).replace(/\/+$/, '')
    let avotsApiKey = io.env.AVOTS_API_KEY ?? ''
    let closeStandin: (() => Promise<void>) | null = null
    if (values.rehearsal) {
      const { startAvotsStandin } = await import('../standins/avots.ts')
      const a = await startAvotsStandin({ mode: 'tool', apiKey: avotsApiKey || `sk-avots-boottest-${randomBytes(18).toString('hex')}` })
      avotsUpstream = a.baseUrl
      avotsApiKey = a.apiKey
      closeStandin = () => a.close()
    } else if (!avotsApiKey) {
      throw envError('AVOTS_API_KEY is not set: the boot test talks to avots (AVOTS_BASE_URL) with it; --rehearsal uses a stand-in', { field: 'AVOTS_API_KEY', rule: 'env.avots-key-missing' })
    }
    masker.add(avotsApiKey)
    // Ctrl-C / SIGTERM: every VM of the test is stopped by its PID (the abort kills qemu), then the report says so
    const abort = stopOnSignals(io, sig => `clawbake boot-test: ${sig}: stopping the VM`)
    try {
      const accel = await probeAccelerator(undefined, io.env)
      // the guest clock: the release's own files say whether it has a fixed start-up deadline (an image in no catalog: CLAWBAKE_TCG_CLOCK, else real time)
      const own = version ? await clockFor(accel.accelerator, version, io.env) : chooseClock(accel.accelerator, io.env, null)
      const dir = join(projectPaths(root).state, 'boot-test', `${new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${randomBytes(3).toString('hex')}`)
      // --upgrade-from: a client of the image clients run today is moved onto this one, and back
      const source = values['upgrade-from'] ? await upgradeSource({ ref: values['upgrade-from'], root, cwd: io.cwd, dir, env: io.env, log: l => io.err(`boot-test: ${l}\n`), accel: accel.accelerator, clock: own }) : null
      const previous = source?.previous ?? null
      const clock = source?.clock ?? own
      const { timeouts, timeScale } = bootTimeouts(accel.accelerator, clock)
      io.err(`boot-test: ${image} (sha256:${sha256.slice(0, 12)}${entry ? `, catalog entry ${entry.tag}` : ''}), must run ${pinnedRef ?? 'the pin it carries (in no catalog here)'}; accelerator ${accel.accelerator} (${accel.why})${accel.accelerator === 'tcg' ? `, clock ${clock.clock} (${clock.why})` : ''}${previous ? `; upgrade from ${previous.what}` : ''}\n`)
      const report = await runBootTest({
        image, pinnedRef, openclawVersion: version, root, dir, accelerator: accel.accelerator, clock, avotsUpstream, avotsApiKey,
        buildIdentity, secondBoot: !values.once, upgrade: !values.once, ...(previous ? { previous: { image: previous.image, what: previous.what } } : {}), timeouts, timeScale, masker, signal: abort.signal,
        log: line => io.err(masker.mask(`boot-test: ${line}`) + '\n'),
      })
      if (values.json) emitJson(io, JSON.parse(masker.mask(JSON.stringify({ ...report, ok: report.ok }))))
      io.err(masker.mask(renderBootReport(report)))
      if (!report.ok) io.err(masker.mask(`boot-test: failed: ${failedChecks(report)}\n`))
      return report.ok ? 0 : 1
    } finally {
      abort.release()
      await closeStandin?.()
    }
  },
}
