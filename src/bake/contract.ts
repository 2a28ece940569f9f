// The shapes of the in-process stages the bake calls (watch, resolve, pin,
// check). The orchestrator is written against these; deps.ts binds them to
// the real modules. The gate report is gates/gate.ts's, re-exported here.
import type { Channel } from '../releases/version.ts'

export type Env = Record<string, string | undefined>

export interface WatchResult {
  current: { tag: string; digest: string }
  latest: { tag: string; publishedAt: string; url: string } | null
  action: 'up-to-date' | 'bake'
  urgency: 'critical' | 'routine' | null
  dueBy: string | null
  advisories: { ghsaId: string; cveId: string | null; severity: string }[]
}
export interface WatchOptions { root: string; env: Env; now: Date; channel: Channel; repo?: string; record?: boolean }

export interface ResolvedImage {
  image: string
  tag: string
  digest: string
  mediaType: string
  platforms: { os: string; architecture: string; variant?: string; digest: string }[]
}
export interface ResolveRequest { image: string; tag: string }
export interface ResolveOptions { env: Env; allowPrerelease?: boolean }

export interface PinResult { changed: boolean; tag: string; digest: string; files: string[] }
export interface PinOptions { root: string; now: Date; sourceRelease?: string }

export interface Finding { rule: string; file: string; path: string; message: string }
export interface CheckReport { ok: boolean; findings: Finding[] }
export interface CheckOptions { root: string; env: Env; config?: string; compose?: string }

export type { GateResult, GateReport } from '../gates/gate.ts'
export interface GateOptions { mode: 'local' | 'vm'; root: string; env: Env; only?: string[]; log?: (line: string) => void }

export { GATE_IDS } from '../gates/gate.ts'

/** The four in-process stages before Packer; tests inject their own. */
export interface BakeStages {
  watch(opts: WatchOptions): Promise<WatchResult>
  resolve(req: ResolveRequest, opts: ResolveOptions): Promise<ResolvedImage>
  pin(resolved: ResolvedImage, opts: PinOptions): Promise<PinResult>
  check(opts: CheckOptions): Promise<CheckReport>
}
