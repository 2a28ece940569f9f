// What a gate is and what it reports. The ids are stable: the bake, the
// catalog and people's scripts refer to them (docs/gates.md).

export const GATE_IDS = [
  'config-valid',
  'doctor',
  'security-audit',
  'models',
  'avots-smoke',
  'owner-exec',
  'stranger-refused',
  'untrusted-tools',
  'loopback-only',
  'admin-tunnel',
  'egress',
  'no-secret-left',
] as const

export type GateId = (typeof GATE_IDS)[number]

/** Gates that prove a VM (its egress allowlist): they run in the build VM and on a client's VM, not on this machine (`verify --local`, the null builder). */
export const VM_ONLY_GATES: readonly GateId[] = ['egress']

/** The gates of a run in this mode, in canonical order. */
export function gatesFor(mode: 'local' | 'vm'): readonly GateId[] {
  return mode === 'vm' ? GATE_IDS : GATE_IDS.filter(g => !VM_ONLY_GATES.includes(g))
}

export function isGateId(id: string): id is GateId {
  return (GATE_IDS as readonly string[]).includes(id)
}

export interface GateResult {
  id: string
  ok: boolean
  detail: string
  /** the gate's duration on the clock where it ran (in a VM: the guest's) */
  ms: number
  /** when its result reached the bake host, on the host's clock (a bake's report of record) */
  hostAt?: string
}

/** the clock a gate run's own durations were measured on */
export type GuestClock = 'host' | 'kvm' | 'tcg-real' | 'tcg-instructions' | 'cloud'

export interface GateReport {
  ok: boolean
  openclawVersion: string
  /** where the gates ran: `vm` (inside the build VM, against the shipped stack), `boot` (a fresh client VM of the captured image) or `local` */
  mode?: 'local' | 'vm' | 'boot'
  /** the run on the bake host's clock, and the clock the gates' own `ms` were measured on (a bake's report of record) */
  host?: { startedAt: string; finishedAt: string; guestClock: GuestClock }
  gates: GateResult[]
}

/** What a gate decided, before it is timed. */
export interface Verdict {
  ok: boolean
  detail: string
}

export const pass = (detail: string): Verdict => ({ ok: true, detail })
export const fail = (detail: string): Verdict => ({ ok: false, detail })

/** Run one gate, timing it; a thrown error is that gate failing, never the suite crashing. */
export async function timed(id: GateId, body: () => Promise<Verdict>): Promise<GateResult> {
  const t0 = performance.now()
  let v: Verdict
  try {
    v = await body()
  } catch (e) {
    v = fail(`gate crashed: ${(e as Error)?.message ?? String(e)}`)
  }
  return { id, ok: v.ok, detail: v.detail, ms: Math.round(performance.now() - t0) }
}
