// Masking: Packer 1.6.6 prints `sensitive = true` values in clear in its
// -machine-readable output (checked here against the real binary, so a Packer
// that starts masking them shows up as a failing assumption, not silently);
// clawbake's Packer runner masks every form of every secret before any line
// is shown or logged.
import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createMasker, isSecretName, maskerFromEnv, MASK } from '../../src/bake/mask.ts'
import { parsePackerLine, describePackerEvent, lineSplitter } from '../../src/bake/machine-readable.ts'
import { packerBuild } from '../../src/bake/packer.ts'
import { testKey } from './helpers.ts'
import { runOk } from '../../src/proc/run.ts'


const TEMPLATE = `variable "secret" {
  type      = string
  sensitive = true
}
source "null" "rehearsal" {
  communicator = "none"
}
build {
  sources = ["source.null.rehearsal"]
  provisioner "shell-local" {
    inline = ["echo var=\${var.secret}", "echo comma,split,$SECRET_FROM_ENV"]
  }
}
`

t.test('Packer 1.6.6 prints sensitive variables in machine-readable output; the runner masks them', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'clawbake-mask-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'leak.pkr.hcl'), TEMPLATE)
  const secret = testKey()
  const commaSecret = `a,b-${testKey()}`
  const env = { ...process.env, PKR_VAR_secret: secret, SECRET_FROM_ENV: commaSecret, CHECKPOINT_DISABLE: '1' }

  const raw = await runOk('packer', ['build', '-machine-readable', '-only=null.rehearsal', '.'], { cwd: dir, env })
  t.ok(raw.stdout.includes(secret), 'upstream behaviour: the sensitive value is in the raw output')
  t.ok(raw.stdout.includes(commaSecret.replaceAll(',', '%!(PACKER_COMMA)')), 'commas come escaped as %!(PACKER_COMMA)')

  // the same stream through clawbake's masking and parsing
  const r2 = await new Promise<{ shown: string[]; logged: string[] }>(resolve => {
    const s: string[] = []
    const l: string[] = []
    const masker = createMasker([secret, commaSecret])
    const split = lineSplitter(line => { const m = masker.mask(line); l.push(m); const e = parsePackerLine(m); const d = e && describePackerEvent(e); if (d) s.push(d) })
    split.push(raw.stdout)
    split.end()
    resolve({ shown: s, logged: l })
  })
  const all = [...r2.shown, ...r2.logged].join('\n')
  t.notOk(all.includes(secret), 'no secret in progress or log')
  t.notOk(all.includes(commaSecret.split(',')[1] as string), 'no part of the comma secret either')
  t.match(r2.shown.join('\n'), `var=${MASK}`)
  t.match(r2.shown.join('\n'), `comma,split,${MASK}`)
})

t.test('packerBuild streams masked progress from the real binary', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'clawbake-mask-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'leak.pkr.hcl'), TEMPLATE)
  const secret = testKey()
  writeFileSync(join(dir, 'vars.json'), JSON.stringify({}))
  const shown: string[] = []
  const logged: string[] = []
  const env = { ...process.env, PKR_VAR_secret: secret, SECRET_FROM_ENV: 'plain', CHECKPOINT_DISABLE: '1' }
  const r = await packerBuild({ bin: 'packer', dir, env, masker: createMasker([secret]), progress: l => shown.push(l), log: l => logged.push(l) }, join(dir, 'vars.json'), 'null')
  t.equal(r.code, 0, r.errors.join('; '))
  t.ok(logged.some(l => l.includes(`var=${MASK}`)), 'the raw machine-readable line was logged masked')
  t.ok(shown.some(l => l.includes(`null.rehearsal: var=${MASK}`)), 'readable progress, masked')
  t.notOk([...shown, ...logged].join('\n').includes(secret))
})

t.test('masker: every form, longest first, secret-looking env names', async t => {
  const s = 'p@ss word/"x",1'
  const m = createMasker([s, 'word-only-not-secret'.slice(0, 4) + 'zzzz'])
  t.equal(m.mask(`a ${s} b`), `a ${MASK} b`)
  t.equal(m.mask(JSON.stringify({ k: s })), `{"k":"${MASK}"}`)
  t.equal(m.mask(`u=${encodeURIComponent(s)}`), `u=${MASK}`)
  t.equal(m.mask(s.replaceAll(',', '%!(PACKER_COMMA)')), MASK)
  t.throws(() => m.add('abc'), /shorter than 4/)
  t.ok(isSecretName('AVOTS_API_KEY'))
  t.ok(isSecretName('GITHUB_TOKEN'))
  t.ok(isSecretName('PKR_VAR_gate_gateway_token'))
  t.ok(isSecretName('AWS_SECRET_ACCESS_KEY'))
  t.notOk(isSecretName('AWS_ACCESS_KEY_ID'))
  t.notOk(isSecretName('PATH'))
  const fromEnv = maskerFromEnv({ AVOTS_API_KEY: 'k-123456', PATH: '/usr/bin', TELEGRAM_BOT_TOKEN: '123:abcdef' })
  t.same([...fromEnv.values].sort(), ['123:abcdef', 'k-123456'])
})

t.test('machine-readable parsing', async t => {
  const e = parsePackerLine('1795579850,null.rehearsal,ui,message,    null.rehearsal: a%!(PACKER_COMMA)b\\nsecond')
  t.same(e, { timestamp: 1795579850, target: 'null.rehearsal', type: 'ui', data: ['message', '    null.rehearsal: a,b\nsecond'] })
  t.equal(describePackerEvent(e!), '    null.rehearsal: a,b\nsecond')
  t.equal(describePackerEvent(parsePackerLine('1,,ui,error,Build failed')!), 'ERROR Build failed')
  t.equal(describePackerEvent(parsePackerLine('1,null.x,artifact,0,id,Null')!), null)
  t.equal(parsePackerLine('not machine readable'), null)
  const lines: string[] = []
  const sp = lineSplitter(l => lines.push(l))
  sp.push('a\nb')
  sp.push('c\n')
  sp.push('d')
  sp.end()
  t.same(lines, ['a', 'bc', 'd'])
})
