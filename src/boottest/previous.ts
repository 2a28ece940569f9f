// The image clients run today, for the boot test's upgrade from it
// (`--upgrade-from`): a qcow2 file, or a channel / image reference in the
// catalog (the channel's current image, a tag, a digest), pulled from the
// image store and verified, into the boot test's directory.
import { existsSync, mkdirSync } from 'node:fs'
import { isAbsolute, join, resolve } from 'node:path'
import { ClawbakeError } from '../errors.ts'
import { hashFile } from '../file-hash.ts'
import { imageOf } from '../store/channels.ts'
import { pullDiskImage } from '../store/pull.ts'
import { clockFor, type Accelerator } from '../bake/qemu.ts'
import type { ClockChoice } from '../vm/accelerator.ts'

export interface PreviousImage {
  /** the qcow2 to boot */
  image: string
  /** how the report names it: `stable: OpenClaw 2026.7.35 (127.0.0.1:5000/clawbake-images:2026.7.35-...)` or the file */
  what: string
  /** its OpenClaw release when the catalog says so; null: read from the image's own pin when it boots */
  tag: string | null
  /** pulling it, when it came from the store */
  pullMs: number | null
}

/** A value of --upgrade-from that names a file rather than a catalog reference. */
export function isImageFile(ref: string): boolean {
  return ref.endsWith('.qcow2') || ref.includes('/')
}

export interface PreviousRequest {
  /** the value of --upgrade-from */
  ref: string
  /** the project tree whose catalog names channels and images */
  root: string
  /** where a relative file is found */
  cwd: string
  /** where a pulled image is written */
  dir: string
  env: Record<string, string | undefined>
  log?: (line: string) => void
}

/** --upgrade-from, for a boot test: the previous image, and the one clock both images run on. */
export async function upgradeSource(req: PreviousRequest & { accel: Accelerator; clock: ClockChoice }): Promise<{ previous: PreviousImage; clock: ClockChoice }> {
  const previous = await previousImage(req)
  return { previous, clock: await clockForBoth(req.accel, req.clock, previous, req.env) }
}

export async function previousImage(req: PreviousRequest): Promise<PreviousImage> {
  if (isImageFile(req.ref)) {
    const file = isAbsolute(req.ref) ? req.ref : resolve(req.cwd, req.ref)
    if (!existsSync(file)) throw new ClawbakeError(`--upgrade-from: the image ${file} does not exist`, { file, field: '--upgrade-from', rule: 'boot-test.previous-missing' }, 2)
    return { image: file, what: `${file} (sha256:${(await hashFile(file)).slice(0, 12)})`, tag: null, pullMs: null }
  }
  const found = imageOf(req.root, req.ref)
  const store = found.entry.store
  if (!store) throw new ClawbakeError(`--upgrade-from ${req.ref}: OpenClaw ${found.entry.tag}'s image was never pushed to the store`, { file: `catalog/${found.channel}.json`, field: '--upgrade-from', rule: 'store.image-unpushed' }, 1)
  mkdirSync(req.dir, { recursive: true, mode: 0o700 })
  const out = join(req.dir, `previous-${store.tag}.qcow2`)
  req.log?.(`the image clients run today: ${found.channel} OpenClaw ${found.entry.tag}, pulling ${store.reference}`)
  const r = await pullDiskImage({ store, out, env: req.env })
  return { image: out, what: `${found.channel}: OpenClaw ${found.entry.tag} (${store.reference})`, tag: found.entry.tag, pullMs: r.ms }
}

/**
 * One clock for both images of the test: the instruction clock when either release needs it (any release runs on
 * it, only slower), else the candidate's. A previous image of unknown release keeps the candidate's choice.
 */
export async function clockForBoth(accel: Accelerator, candidate: ClockChoice, previous: PreviousImage, env: Record<string, string | undefined>): Promise<ClockChoice> {
  if (accel !== 'tcg' || candidate.clock === 'instructions' || !previous.tag) return candidate
  const p = await clockFor(accel, previous.tag, env)
  return p.clock === 'instructions' ? { ...p, why: `the previous image's release: ${p.why}` } : candidate
}
