// The compose patch on fixture files with comments, blank lines, odd key
// order, quoted scalars, merge keys, the two OpenClaw services and a third
// service: byte-identical except the two image lines and the pin comment;
// idempotent; every refusal names the service and why.
import t, { type Test } from 'tap'
import { readFileSync } from 'node:fs'
import { patchCompose, pinComment } from '../../src/pins/compose.ts'
import { ClawbakeError } from '../../src/errors.ts'

const fixture = (name: string) => readFileSync(new URL(`../fixtures/pins/${name}`, import.meta.url), 'utf8')
const D = 'sha256:' + 'ab'.repeat(32)
const OLD = 'sha256:' + '1'.repeat(64)
const pin = { tag: '2026.9.6', digest: D, date: '2026-11-25' }
const IMAGE = `ghcr.io/openclaw/openclaw:2026.9.6@${D}`

function changedLines(a: string, b: string): number[] {
  const x = a.split('\n')
  const y = b.split('\n')
  const out: number[] = []
  for (let i = 0; i < Math.max(x.length, y.length); i++) if (x[i] !== y[i]) out.push(i + 1)
  return out
}

function refusal(t: Test, text: string, rule: string, field: string, mentions: string[]) {
  try {
    patchCompose(text, pin, 'compose.yml')
    t.fail(`expected ${rule}`)
  } catch (e) {
    t.ok(e instanceof ClawbakeError, String(e))
    const err = e as ClawbakeError
    t.equal(err.rule, rule, err.describe())
    t.equal(err.field, field)
    t.equal(err.file, 'compose.yml')
    for (const m of mentions) t.match(err.message, m)
  }
}

t.test('round trip: only the two image lines and the pin comment change', async t => {
  const src = fixture('docker-compose.yml')
  const r = patchCompose(src, pin, 'compose.yml')
  t.equal(r.changed, true)
  t.same(r.previous, { tag: '2026.6.1', digest: OLD })
  t.same(changedLines(src, r.text), [6, 21, 29], 'pin comment, gateway image, cli image')
  const lines = r.text.split('\n')
  t.equal(lines[5], pinComment('2026.9.6', D, '2026-11-25'))
  t.equal(lines[5], `# clawbake-pin: openclaw 2026.9.6 ${D} resolved 2026-11-25; re-verify before bake (clawbake pin 2026.9.6)`)
  t.equal(lines[20], `    image: ${IMAGE}   # pinned`, 'the trailing comment on the image line survives')
  t.equal(lines[28], `    image: ${IMAGE}`)
  t.match(r.text, 'image: docker.io/linuxserver/openssh-server:9.7_p1-r4@sha256:2222', 'the third service is untouched')
  t.equal(r.text.length - src.length, 0, 'same length: same-length tag and digest, nothing else moved')
})

t.test('idempotent: the same pin again is the same bytes, even on another day', async t => {
  const once = patchCompose(fixture('docker-compose.yml'), pin, 'compose.yml').text
  const twice = patchCompose(once, { ...pin, date: '2026-12-31' }, 'compose.yml')
  t.equal(twice.changed, false)
  t.equal(twice.text, once)
})

t.test('quoted scalars keep their quotes; merge keys survive; a missing pin comment is added above services:', async t => {
  const src = fixture('docker-compose.quoted.yml')
  const r = patchCompose(src, pin, 'compose.yml')
  t.match(r.text, `image: "${IMAGE}"`)
  t.match(r.text, `image: '${IMAGE}'`)
  t.match(r.text, `${pinComment('2026.9.6', D, '2026-11-25')}\nservices:\n`)
  t.equal(r.text.replace(pinComment('2026.9.6', D, '2026-11-25') + '\n', '').replaceAll(`:2026.9.6@${D}`, ':2026.6.1'), src, 'nothing else changed')
  t.same(r.previous, { tag: '2026.6.1', digest: null })
  t.equal(patchCompose(r.text, pin, 'compose.yml').changed, false)
})

t.test('refusals name the service and why', async t => {
  const src = fixture('docker-compose.yml')
  refusal(t, src.replace(`openclaw:2026.6.1@${OLD}\n`, `openclaw:2026.6.2@${OLD}\n`), 'pin.compose-disagree', 'services.openclaw-cli.image', ['openclaw-gateway', 'openclaw-cli', '2026.6.2'])
  refusal(t, src.replace(`ghcr.io/openclaw/openclaw:2026.6.1@${OLD}   # pinned`, `docker.io/evil/openclaw:2026.6.1@${OLD}`), 'pin.compose-wrong-repository', 'services.openclaw-gateway.image', ['openclaw-gateway', 'docker.io/evil/openclaw'])
  refusal(t, src.replace('openssh-server:9.7_p1-r4@sha256:' + '2'.repeat(64), 'openssh-server:latest'), 'pin.compose-floating-tag', 'services.sandbox.image', ['sandbox', ':latest'])
  refusal(t, src.replace('openssh-server:9.7_p1-r4@sha256:' + '2'.repeat(64), 'openssh-server:main'), 'pin.compose-floating-tag', 'services.sandbox.image', ['sandbox', ':main'])
  refusal(t, src.replace('openssh-server:9.7_p1-r4@sha256:' + '2'.repeat(64), 'openssh-server:9.7_p1-r4'), 'pin.compose-unpinned', 'services.sandbox.image', ['sandbox', 'no digest'])
  refusal(t, src.replace('  openclaw-cli:\n', '  openclaw-shell:\n'), 'pin.compose-service-missing', 'services.openclaw-cli', ['openclaw-cli'])
  refusal(t, src.replace('name: openclaw', `${pinComment('2026.6.1', OLD, '2026-06-02')}\nname: openclaw`), 'pin.compose-comment-duplicate', 'line 7', ['lines 4, 7'])
  refusal(t, fixture('docker-compose.unpinned-sidecar.yml'), 'pin.compose-floating-tag', 'services.sandbox.image', ['sandbox'])
  refusal(t, 'services:\n  openclaw-gateway:\n    image: [a]\n  openclaw-cli:\n    image: x\n', 'pin.compose-no-image', 'services.openclaw-gateway.image', ['openclaw-gateway'])
  refusal(t, 'services:\n  openclaw-gateway:\n    <<: {image: "ghcr.io/openclaw/openclaw:1"}\n  openclaw-cli:\n    image: x\n', 'pin.compose-no-image', 'services.openclaw-gateway.image', ['merge key'])
  refusal(t, 'services: [\n', 'pin.compose-invalid', 'line 2', ['not valid YAML'])
  refusal(t, 'a: 1\n---\nb: 2\n', 'pin.compose-invalid', '/', ['more than one'])
})

t.test('a pin comment with the right tag and digest keeps its date', async t => {
  const src = fixture('docker-compose.yml').replaceAll(`2026.6.1@${OLD}`, `2026.9.6@${D}`)
  const r = patchCompose(src, pin, 'compose.yml')
  t.same(changedLines(src, r.text), [6], 'only the stale comment is rewritten')
  const again = patchCompose(r.text, { ...pin, date: '2027-01-01' }, 'compose.yml')
  t.equal(again.changed, false)
})
