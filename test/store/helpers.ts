// Shared by the image-store tests: a project tree with baked qcow2s (real,
// from qemu-img), the publish input of a bake, the real CLI with registry
// credentials from the environment.
import { mkdirSync, renameSync } from 'node:fs'
import { join } from 'node:path'
import { GATE_IDS, type GateReport } from '../../src/bake/contract.ts'
import { createMasker } from '../../src/bake/mask.ts'
import { readPinRecord } from '../../src/pins/record.ts'
import type { PublishInput } from '../../src/publish/publish.ts'
import { clawbake } from '../support/cli.ts'
import { makeQcow2 } from '../support/disk.ts'
import type { Registry } from '../support/registry.ts'

export function passedGates(): GateReport {
  return { ok: true, openclawVersion: '2026.9.6', gates: GATE_IDS.map(id => ({ id, ok: true, detail: 'ok', ms: 5 })) }
}

/** A baked qcow2 inside the tree, where the qemu builder leaves it: `.clawbake/artifacts/<bake id>/`. */
export async function bakedDisk(root: string, bakeId: string, opts = { mib: 24, randomMib: 8 }): Promise<string> {
  const dir = join(root, '.clawbake', 'artifacts', bakeId)
  mkdirSync(dir, { recursive: true })
  const file = await makeQcow2(dir, 'clawbake', opts)
  return file
}

/** Another bake of the very same bytes (a re-push of an unchanged image). */
export function moveDisk(root: string, from: string, to: string): void {
  mkdirSync(join(root, '.clawbake', 'artifacts', to), { recursive: true })
  renameSync(join(root, '.clawbake', 'artifacts', from, 'clawbake.qcow2'), join(root, '.clawbake', 'artifacts', to, 'clawbake.qcow2'))
}

export function publishInput(root: string, bakeId: string, sha256: string, sizeBytes: number, over: Partial<PublishInput> = {}): PublishInput {
  const pin = readPinRecord(join(root, 'pins.lock.json'))
  return {
    root, channel: 'stable', tag: pin.tag, image: 'ghcr.io/openclaw/openclaw', digest: pin.digest, platforms: [],
    artifact: { builder: 'qemu', id: `.clawbake/artifacts/${bakeId}/clawbake.qcow2`, sha256, sizeBytes },
    gates: passedGates(), gateReportFile: '/run/gate-report.json', requiredGates: GATE_IDS, urgency: 'routine',
    releasedAt: '2026-11-20T10:00:00.000Z', bakeStartedAt: '2026-11-21T09:00:00.000Z', now: new Date('2026-11-21T10:30:00.000Z'),
    bakeId, releaseUrl: null, advisories: [], masker: createMasker([]),
    ...over,
  }
}

export function pushEnv(reg: Registry, extra: Record<string, string> = {}): Record<string, string> {
  return { CLAWBAKE_REGISTRY_USER: reg.user, CLAWBAKE_REGISTRY_PASSWORD: reg.password, GITHUB_ACTOR: 'oncall-alice', CLAWBAKE_PUSH_CHUNK_MB: '4', ...extra }
}

export function cli(root: string, args: string[], env: Record<string, string | undefined> = {}) {
  return clawbake(args, { cwd: root, env: { CLAWBAKE_ROOT: root, GITHUB_ACTOR: 'oncall-alice', ...env } })
}
