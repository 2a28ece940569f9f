// The types the bake and its stages share: what a bake is asked to do
// (BakeRequest), what it is given (BakeDeps) and what it reports
// (BakeOutcome, or BakeFailed with the outcome so far). bake.ts orders and
// runs the stages; stage.ts and each stage import these from here, so no
// stage imports bake.ts.
import { ClawbakeError } from '../../errors.ts'
import type { Channel } from '../../releases/version.ts'
import type { CatalogArtifact } from '../../publish/catalog.ts'
import type { BootTestReport } from '../../boottest/boot-test.ts'
import type { GateReport } from '../../gates/gate.ts'
import type { BakeStages } from '../contract.ts'
import type { Builder } from '../packer.ts'

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
  /** qemu: boot the captured image as a client's VM before publishing (`--boot-test`); without it the entry is recorded held */
  bootTest?: boolean
  /** the boot test's avots, as this machine reaches it (the rehearsal's stand-in); default AVOTS_BASE_URL */
  bootTestAvotsUrl?: string
  /** `--upgrade-from`: the image clients run today (a channel, an image reference, or a qcow2 file), upgraded from in the boot test */
  upgradeFrom?: string
  /** where a relative --upgrade-from file is found (the caller's working directory) */
  cwd?: string
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
  /** the boot test of the captured image (qemu), passed or not */
  bootTest?: BootTestReport | null
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
