// One hostile fixture per rule (test/fixtures/policy/), applied to a temp
// copy of the shipped tree: rejected by that rule id and by nothing else.
import t from 'tap'
import { tempTree } from '../support/tree.ts'
import { checkArtifacts } from '../../src/policy/check.ts'
import { applyFixture, loadFixtures } from './fixture.ts'

t.test('each hostile fixture is rejected by its rule and by nothing else', async t => {
  // two at a time: each runs the real `openclaw config validate`
  const fixtures = loadFixtures().filter(f => f.file !== 'openclaw.json')
  const results = new Map<string, Awaited<ReturnType<typeof checkArtifacts>>>()
  const queue = [...fixtures]
  await Promise.all([0, 1].map(async () => {
    for (let fx = queue.shift(); fx; fx = queue.shift()) {
      const root = tempTree(t)
      applyFixture(root, fx)
      results.set(fx.rule, await checkArtifacts({ root, env: process.env }))
    }
  }))
  for (const fx of fixtures) {
    const report = results.get(fx.rule)!
    const rules = [...new Set(report.findings.map(f => f.rule))].sort()
    t.same(rules, [fx.rule, ...(fx.alsoRejectedBy ?? [])].sort(), `${fx.rule}: ${report.findings.map(f => `${f.file} ${f.path} [${f.rule}] ${f.message}`).join(' | ')}`)
    t.equal(report.ok, false)
    for (const f of report.findings) {
      t.match(f, { rule: String, file: String, path: String, message: String })
      t.notMatch(f.message, /literal-gateway-token-0123456789abcdef/, 'a finding never repeats the secret')
    }
  }
})

