// One hostile fixture per rule (test/fixtures/policy/), applied to a temp
// copy of the shipped tree: rejected by that rule id and by nothing else.
// (Split from the openclaw.json / other-artifact fixtures so tap runs both halves in parallel.)
import t from 'tap'
import { assertEachFixtureRejected } from './fixture.ts'

t.test('each hostile fixture is rejected by its rule and by nothing else', async t => {
  await assertEachFixtureRejected(t, f => f.file === 'openclaw.json')
})
