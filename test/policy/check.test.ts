// `clawbake check`: the shipped files pass; each hostile fixture is rejected
// by its own rule and by nothing else; the policy reads the provisioned
// config (owner id filled in) as well as the template.
import t from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { tempTree, REPO } from '../support/tree.ts'
import { clawbake } from '../support/cli.ts'
import { checkArtifacts } from '../../src/policy/check.ts'
import { applyFixture, loadFixtures } from './fixture.ts'

const fixtures = loadFixtures()
const schemaRules = (name: string): string[] => {
  const rules = new Set<string>()
  const walk = (n: unknown) => {
    if (n && typeof n === 'object') {
      const r = (n as Record<string, unknown>)['x-rule']
      if (typeof r === 'string') rules.add(r)
      for (const v of Object.values(n)) walk(v)
    }
  }
  walk(JSON.parse(readFileSync(join(REPO, 'schemas', name), 'utf8')))
  return [...rules]
}

t.test('the shipped files pass every check (CLI, --json)', async t => {
  const root = tempTree(t)
  const r = await clawbake(['check', '--json'], { cwd: root, env: { CLAWBAKE_ROOT: root } })
  t.equal(r.code, 0, r.stderr)
  t.same(r.json(), { ok: true, findings: [] })
})

t.test('every policy rule id in the schemas has exactly one hostile fixture', async t => {
  const fixtureRules = fixtures.map(f => f.rule)
  t.equal(new Set(fixtureRules).size, fixtureRules.length, 'one fixture per rule')
  for (const rule of [...schemaRules('policy-openclaw.schema.json'), ...schemaRules('policy-compose.schema.json')]) {
    t.ok(fixtureRules.includes(rule), `fixture for ${rule}`)
  }
  for (const rule of ['openclaw.model-allowlist', 'openclaw.owner-binding', 'openclaw.dangerous-flags', 'openclaw.control-ui-origins', 'openclaw.skills-allowlist', 'env.undeclared', 'secret.plaintext', 'pin.same-digest', 'pin.comment', 'pin.lock-mismatch', 'openclaw.upstream-schema', 'openclaw.config-validate', 'cloudinit.schema', 'script.shellcheck']) {
    t.ok(fixtureRules.includes(rule), `fixture for ${rule}`)
  }
})

t.test('the seed-style config (root "$comment") is rejected by the upstream-schema check, exit 1', async t => {
  const root = tempTree(t)
  const fx = fixtures.find(f => f.rule === 'openclaw.upstream-schema')!
  applyFixture(root, fx)
  const before = readFileSync(join(root, 'packer/files/openclaw.json'), 'utf8')
  const r = await clawbake(['check', '--json'], { cwd: root, env: { CLAWBAKE_ROOT: root } })
  t.equal(r.code, 1)
  const doc = r.json()
  t.equal(doc.ok, false)
  t.ok(doc.findings.some((f: { rule: string; message: string; path: string }) => f.rule === 'openclaw.upstream-schema' && f.path === '/' && /\$comment/.test(f.message)), JSON.stringify(doc.findings))
  t.match(r.stderr, /\[openclaw\.upstream-schema\]/)
  t.equal(readFileSync(join(root, 'packer/files/openclaw.json'), 'utf8'), before, 'check changes nothing on disk')
})

t.test('--config/--compose check given files; a provisioned config (numeric owner) passes', async t => {
  const root = tempTree(t)
  const template = readFileSync(join(root, 'packer/files/openclaw.json'), 'utf8')
  writeFileSync(join(root, 'provisioned.json'), template.replaceAll('${OWNER_TELEGRAM_ID}', '4242424242'))
  const ok = await checkArtifacts({ root, env: process.env, config: 'provisioned.json' })
  t.same(ok, { ok: true, findings: [] })
  writeFileSync(join(root, 'half.json'), template.replace('"id:${OWNER_TELEGRAM_ID}"', '"id:4242424242"'))
  const half = await checkArtifacts({ root, env: process.env, config: 'half.json' })
  t.same([...new Set(half.findings.map(f => f.rule))], ['openclaw.owner-binding'], 'key filled in but allowFrom still the placeholder')
  t.equal(half.findings[0]!.file, 'half.json')
  const r = await clawbake(['check', '--compose', 'missing.yml'], { cwd: root, env: { CLAWBAKE_ROOT: root } })
  t.equal(r.code, 1)
  t.match(r.stderr, /missing\.yml: \/: \[artifact\.missing\]/)
})

t.test('usage errors exit 2', async t => {
  const r = await clawbake(['check', '--bogus'], { env: { CLAWBAKE_ROOT: REPO } })
  t.equal(r.code, 2)
})
