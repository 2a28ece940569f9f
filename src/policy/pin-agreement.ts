// The pinned image is named in three places that must agree: the image line
// of every OpenClaw service, the one `# clawbake-pin:` comment, and
// pins.lock.json. `clawbake pin` rewrites all three; this proves it did.
import type { Finding } from './finding.ts'
import type { PinRecord } from '../pins/record.ts'

export const OPENCLAW_SERVICES = ['openclaw-gateway', 'openclaw-cli'] as const
const IMAGE = /^([a-z0-9][a-z0-9._/:-]*?):([A-Za-z0-9_][A-Za-z0-9._-]{0,127})@(sha256:[0-9a-f]{64})$/
const PIN_LINE = /^# clawbake-pin: openclaw (\S+) (sha256:[0-9a-f]{64}) resolved (\d{4}-\d{2}-\d{2}); re-verify before bake \(clawbake pin (\S+)\)$/

export interface ImageRef { image: string; tag: string; digest: string }

export function parseImageRef(ref: unknown): ImageRef | undefined {
  if (typeof ref !== 'string') return undefined
  const m = IMAGE.exec(ref)
  return m ? { image: m[1]!, tag: m[2]!, digest: m[3]! } : undefined
}

export function pinAgreement(opts: { compose: unknown; composeText: string; file: string; lock: PinRecord | undefined; lockFile: string }): Finding[] {
  const out: Finding[] = []
  const services = (opts.compose as { services?: Record<string, { image?: unknown }> } | undefined)?.services ?? {}
  const refs = OPENCLAW_SERVICES.map(name => ({ name, ref: parseImageRef(services[name]?.image) }))
  const gateway = refs[0]!.ref
  // malformed or missing image lines are compose.image-pinned / compose.services findings
  if (!refs.every(r => r.ref)) return out

  for (const r of refs.slice(1)) {
    if (r.ref!.image !== gateway!.image || r.ref!.tag !== gateway!.tag || r.ref!.digest !== gateway!.digest) {
      out.push({ rule: 'pin.same-digest', file: opts.file, path: `/services/${r.name}/image`, message: `${r.name} runs ${r.ref!.tag}@${r.ref!.digest}, openclaw-gateway runs ${gateway!.tag}@${gateway!.digest}: every OpenClaw service must run the same pinned image` })
    }
  }

  const lines = opts.composeText.split('\n')
  const pinLines = lines.map((l, i) => ({ l, i })).filter(x => /^#\s*clawbake-pin\b/.test(x.l))
  if (pinLines.length !== 1) {
    out.push({ rule: 'pin.comment', file: opts.file, path: pinLines.length ? `line ${pinLines[1]!.i + 1}` : '/', message: `expected exactly one "# clawbake-pin: openclaw <tag> sha256:<64hex> resolved <YYYY-MM-DD>; re-verify before bake (clawbake pin <tag>)" line, found ${pinLines.length}` })
  } else {
    const { l, i } = pinLines[0]!
    const m = PIN_LINE.exec(l.trimEnd())
    if (!m || m[1] !== m[4]) {
      out.push({ rule: 'pin.comment', file: opts.file, path: `line ${i + 1}`, message: 'the pin comment must read "# clawbake-pin: openclaw <tag> sha256:<64hex> resolved <YYYY-MM-DD>; re-verify before bake (clawbake pin <tag>)"' })
    } else if (m[1] !== gateway!.tag || m[2] !== gateway!.digest) {
      out.push({ rule: 'pin.comment', file: opts.file, path: `line ${i + 1}`, message: `the pin comment names ${m[1]}@${m[2]} but the image lines run ${gateway!.tag}@${gateway!.digest}` })
    }
  }

  if (opts.lock && (opts.lock.image !== gateway!.image || opts.lock.tag !== gateway!.tag || opts.lock.digest !== gateway!.digest)) {
    out.push({ rule: 'pin.lock-mismatch', file: opts.file, path: '/services/openclaw-gateway/image', message: `the compose file runs ${gateway!.image}:${gateway!.tag}@${gateway!.digest} but ${opts.lockFile} pins ${opts.lock.image}:${opts.lock.tag}@${opts.lock.digest}: run \`clawbake pin ${opts.lock.tag}\`` })
  }
  return out
}
