// Shared by the bake tests: a temp work tree with a release record, an Io
// that captures everything, stage stand-ins, and a snapshot of every file.
import { randomBytes } from 'node:crypto'
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Io } from '../../src/io.ts'
import type { BakeStages } from '../../src/bake/contract.ts'
import { readPinRecord } from '../../src/pins/record.ts'
import { tempTree } from '../support/tree.ts'

export const GATE_RUNNER = fileURLToPath(new URL('./fixtures/gate-runner.sh', import.meta.url))

export const RELEASE = {
  tag: '2026.9.6',
  channel: 'stable',
  publishedAt: '2026-11-20T10:00:00Z',
  url: 'https://github.com/openclaw/openclaw/releases/tag/v2026.9.6',
  firstSeenAt: '2026-11-20T11:00:00Z',
  urgency: 'critical',
  dueBy: '2026-11-21T10:00:00Z',
  advisories: [{ ghsaId: 'GHSA-abcd-efgh-ijkl', cveId: 'CVE-2026-99999', severity: 'high' }],
}

/** A temp copy of the project tree with catalog/releases.json recording RELEASE. */
export function bakeTree(t: { teardown(fn: () => void): void }): string {
  const root = tempTree(t)
  mkdirSync(join(root, 'catalog'), { recursive: true })
  writeFileSync(join(root, 'catalog', 'releases.json'), JSON.stringify({ schemaVersion: 1, releases: [RELEASE] }, null, 2) + '\n')
  return root
}

export function pinnedDigest(root: string): string {
  return readPinRecord(join(root, 'pins.lock.json')).digest
}

/** A fresh, generated test key (never committed). */
export function testKey(): string {
  return `sk-avots-test-${randomBytes(18).toString('hex')}`
}

export interface Captured extends Io {
  stdout(): string
  stderr(): string
}

export function captureIo(root: string, env: Record<string, string | undefined>): Captured {
  let out = ''
  let err = ''
  return {
    out: s => { out += s },
    err: s => { err += s },
    env,
    cwd: root,
    now: () => new Date(),
    stdout: () => out,
    stderr: () => err,
  }
}

/** Stages that never touch the network: resolve answers the pinned digest, pin/check are no-ops. */
export function standinStages(root: string, over: Partial<BakeStages> = {}): BakeStages & { calls: string[] } {
  const calls: string[] = []
  return {
    calls,
    async watch() {
      calls.push('watch')
      throw new Error('watch must not be called: catalog/releases.json has the release')
    },
    async resolve(req) {
      calls.push('resolve')
      const pin = readPinRecord(join(root, 'pins.lock.json'))
      return { image: req.image, tag: req.tag, digest: pin.digest, mediaType: pin.mediaType, platforms: pin.platforms }
    },
    async pin(resolved) {
      calls.push('pin')
      return { changed: false, tag: resolved.tag, digest: resolved.digest, files: [] }
    },
    async check() {
      calls.push('check')
      return { ok: true, findings: [] }
    },
    ...over,
  }
}


/** Every file under root whose bytes contain `needle`. */
export function filesContaining(root: string, needle: string): string[] {
  const hits: string[] = []
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name)
      const s = statSync(p)
      if (s.isDirectory()) walk(p)
      else if (readFileSync(p).includes(needle)) hits.push(relative(root, p))
    }
  }
  walk(root)
  return hits
}

export function baseEnv(extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env, ...extra }
  delete env.CLAWBAKE_ROOT
  return env
}

/** path -> bytes of every file under root (the whole tree, .clawbake included). */
export { snapshotTree as snapshot } from '../support/tree.ts'
