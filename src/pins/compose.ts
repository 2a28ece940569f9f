// The compose pin: point `image:` of both OpenClaw services at
// ghcr.io/openclaw/openclaw:<tag>@sha256:<digest> and rewrite the one
// `# clawbake-pin:` comment. The yaml Document API finds the nodes and their
// source ranges; the edit splices only those bytes, so every other comment,
// key order, quote style and blank line survives byte for byte. The result is
// parsed again and must differ from the original only in the two images.
import { isDeepStrictEqual } from 'node:util'
import { isMap, isScalar, parseAllDocuments, parseDocument, Parser, Scalar, type Document, type YAMLMap } from 'yaml'
import { ClawbakeError } from '../errors.ts'

export const OPENCLAW_IMAGE = 'ghcr.io/openclaw/openclaw'
export const OPENCLAW_SERVICES = ['openclaw-gateway', 'openclaw-cli'] as const
export const FLOATING_TAGS = ['latest', 'main', 'extended-stable', 'stable', 'beta']

const DIGEST = /^sha256:[a-f0-9]{64}$/
const PIN_COMMENT = /^#\s*clawbake-pin:/
const PIN_COMMENT_EXACT = /^# clawbake-pin: openclaw (\S+) (sha256:[a-f0-9]{64}) resolved (\d{4}-\d{2}-\d{2}); re-verify before bake \(clawbake pin (\S+)\)$/

export interface ImageString {
  repository: string
  tag: string | null
  digest: string | null
}

/** `host/repo:tag@sha256:x` -> parts (tag after the last `/`). */
export function parseImageString(s: string): ImageString {
  const at = s.indexOf('@')
  const name = at >= 0 ? s.slice(0, at) : s
  const digest = at >= 0 ? s.slice(at + 1) : null
  const slash = name.lastIndexOf('/')
  const colon = name.lastIndexOf(':')
  return colon > slash ? { repository: name.slice(0, colon), tag: name.slice(colon + 1), digest } : { repository: name, tag: null, digest }
}

export function pinComment(tag: string, digest: string, date: string): string {
  return `# clawbake-pin: openclaw ${tag} ${digest} resolved ${date}; re-verify before bake (clawbake pin ${tag})`
}

export interface ComposePin {
  /** the pinned tag and digest before the patch (null when the services had no digest) */
  previous: { tag: string | null; digest: string | null }
  text: string
  changed: boolean
}

interface ImageNode {
  service: string
  value: string
  node: Scalar
}

function refuse(file: string, field: string, rule: string, message: string): ClawbakeError {
  return new ClawbakeError(message, { file, field, rule }, 1)
}

function parseCompose(text: string, file: string): Document.Parsed {
  const docs = parseAllDocuments(text)
  if (Array.isArray(docs) && docs.length > 1) throw refuse(file, '/', 'pin.compose-invalid', 'holds more than one YAML document')
  const doc = parseDocument(text, { prettyErrors: true })
  const err = doc.errors[0]
  if (err) throw refuse(file, err.linePos ? `line ${err.linePos[0].line}` : '/', 'pin.compose-invalid', `is not valid YAML: ${err.message.split('\n')[0]}`)
  return doc
}

function servicesOf(doc: Document.Parsed, file: string): YAMLMap {
  const services = doc.get('services', true)
  if (!isMap(services)) throw refuse(file, 'services', 'pin.compose-invalid', 'has no `services:` mapping')
  return services
}

/** The literal `image:` scalar of a service (no alias, no merge key, no block scalar). */
function imageNode(services: YAMLMap, service: string, file: string): ImageNode | null {
  const svc = services.get(service, true)
  if (svc === undefined) return null
  if (!isMap(svc)) throw refuse(file, `services.${service}`, 'pin.compose-invalid', `service ${service} is not a mapping`)
  const pair = svc.items.find(p => isScalar(p.key) && p.key.value === 'image')
  if (!pair) throw refuse(file, `services.${service}.image`, 'pin.compose-no-image', `service ${service} has no literal \`image:\` line (an image from a merge key or build: cannot be pinned)`)
  const node = pair.value
  if (!isScalar(node) || typeof node.value !== 'string' || !node.range) {
    throw refuse(file, `services.${service}.image`, 'pin.compose-no-image', `service ${service}: \`image:\` is not a plain string (alias or non-scalar)`)
  }
  if (node.type !== Scalar.PLAIN && node.type !== Scalar.QUOTE_DOUBLE && node.type !== Scalar.QUOTE_SINGLE) {
    throw refuse(file, `services.${service}.image`, 'pin.compose-no-image', `service ${service}: \`image:\` is a block scalar; write it on one line`)
  }
  return { service, value: node.value, node }
}

function render(node: Scalar, value: string): string {
  if (node.type === Scalar.QUOTE_DOUBLE) return JSON.stringify(value)
  if (node.type === Scalar.QUOTE_SINGLE) return `'${value}'`
  return value
}

/** Every comment in the source with its offset (the CST keeps them all). */
function comments(text: string): { offset: number; source: string }[] {
  const found: { offset: number; source: string }[] = []
  const walk = (x: unknown): void => {
    if (Array.isArray(x)) return x.forEach(walk)
    if (!x || typeof x !== 'object') return
    const t = x as Record<string, unknown>
    if (t.type === 'comment' && typeof t.offset === 'number' && typeof t.source === 'string') found.push({ offset: t.offset, source: t.source })
    for (const v of Object.values(t)) if (v && typeof v === 'object') walk(v)
  }
  for (const token of new Parser().parse(text)) walk(token)
  return found
}

/** Refuse a patched compose in which any service is not pinned by digest. */
export function assertAllPinned(doc: Document.Parsed, file: string): void {
  const services = servicesOf(doc, file)
  for (const pair of services.items) {
    const service = isScalar(pair.key) ? String(pair.key.value) : String(pair.key)
    const svc = pair.value
    if (!isMap(svc)) continue
    const img = svc.get('image')
    const field = `services.${service}.image`
    if (typeof img !== 'string') throw refuse(file, field, 'pin.compose-unpinned', `service ${service} has no image: line; every service must run an image pinned by digest`)
    const parsed = parseImageString(img)
    if (parsed.tag && FLOATING_TAGS.includes(parsed.tag)) throw refuse(file, field, 'pin.compose-floating-tag', `service ${service} uses the moving tag :${parsed.tag} (${img}); pin a release tag and digest`)
    if (!parsed.digest) throw refuse(file, field, 'pin.compose-unpinned', `service ${service} has no digest (${img}); every image must be pinned @sha256:<digest>`)
    if (!DIGEST.test(parsed.digest)) throw refuse(file, field, 'pin.compose-unpinned', `service ${service} has a malformed digest (${img})`)
  }
}

/**
 * Patch `text` (the compose file at `file`) to the pin. Refuses, naming the
 * service and why: a missing OpenClaw service, services that disagree, an
 * image of another repository, or any service left unpinned after the patch.
 */
export function patchCompose(text: string, pin: { tag: string; digest: string; date: string }, file: string): ComposePin {
  const doc = parseCompose(text, file)
  const services = servicesOf(doc, file)
  const nodes: ImageNode[] = []
  for (const service of OPENCLAW_SERVICES) {
    const n = imageNode(services, service, file)
    if (!n) throw refuse(file, `services.${service}`, 'pin.compose-service-missing', `has no service ${service}; both ${OPENCLAW_SERVICES.join(' and ')} must run the OpenClaw image`)
    nodes.push(n)
  }
  for (const n of nodes) {
    const parsed = parseImageString(n.value)
    if (parsed.repository !== OPENCLAW_IMAGE) {
      throw refuse(file, `services.${n.service}.image`, 'pin.compose-wrong-repository', `service ${n.service} runs ${n.value}, not ${OPENCLAW_IMAGE}; refusing to repoint it`)
    }
  }
  const [gateway, cli] = nodes as [ImageNode, ImageNode]
  if (gateway.value !== cli.value) {
    throw refuse(file, `services.${cli.service}.image`, 'pin.compose-disagree',
      `services disagree: ${gateway.service} runs ${gateway.value} but ${cli.service} runs ${cli.value}; make them equal by hand before pinning`)
  }
  const before = parseImageString(gateway.value)
  const image = `${OPENCLAW_IMAGE}:${pin.tag}@${pin.digest}`

  const edits: { start: number; end: number; text: string }[] = []
  for (const n of nodes) {
    if (n.value === image) continue
    const [start, end] = n.node.range as [number, number, number]
    edits.push({ start, end, text: render(n.node, image) })
  }

  const pinComments = comments(text).filter(c => PIN_COMMENT.test(c.source))
  if (pinComments.length > 1) {
    const lines = pinComments.map(c => text.slice(0, c.offset).split('\n').length)
    throw refuse(file, `line ${lines[1]}`, 'pin.compose-comment-duplicate', `has ${pinComments.length} \`# clawbake-pin:\` comments (lines ${lines.join(', ')}); keep exactly one`)
  }
  const current = pinComments[0]
  const m = current ? PIN_COMMENT_EXACT.exec(current.source) : null
  const commentOk = m !== null && m[1] === pin.tag && m[2] === pin.digest && m[4] === pin.tag
  if (!commentOk) {
    const line = pinComment(pin.tag, pin.digest, pin.date)
    if (current) {
      edits.push({ start: current.offset, end: current.offset + current.source.length, text: line })
    } else {
      // no pin comment yet: put it on its own line right above `services:`
      const key = doc.contents && isMap(doc.contents) ? doc.contents.items.find(p => isScalar(p.key) && p.key.value === 'services')?.key : undefined
      const at = isScalar(key) && key.range ? text.lastIndexOf('\n', key.range[0] - 1) + 1 : 0
      edits.push({ start: at, end: at, text: line + '\n' })
    }
  }

  let out = text
  for (const e of edits.sort((a, b) => b.start - a.start)) out = out.slice(0, e.start) + e.text + out.slice(e.end)

  // The result must parse, carry the pin in both services, pin every other
  // service, and be the same document apart from the two images.
  const after = parseCompose(out, file)
  for (const service of OPENCLAW_SERVICES) {
    if (after.getIn(['services', service, 'image']) !== image) {
      throw refuse(file, `services.${service}.image`, 'pin.compose-patch-failed', `service ${service} does not read ${image} after the patch`)
    }
  }
  assertAllPinned(after, file)
  const expected = doc.toJS() as { services: Record<string, { image?: string }> }
  for (const service of OPENCLAW_SERVICES) expected.services[service]!.image = image
  if (!isDeepStrictEqual(after.toJS(), expected)) {
    throw refuse(file, '/', 'pin.compose-patch-failed', 'the patch changed more than the two image lines; refusing to write it')
  }
  const pinned = comments(out).filter(c => PIN_COMMENT_EXACT.test(c.source))
  if (pinned.length !== 1) throw refuse(file, '/', 'pin.compose-patch-failed', 'the pin comment did not land as exactly one top-level comment')

  return { previous: { tag: before.tag, digest: before.digest }, text: out, changed: out !== text }
}
