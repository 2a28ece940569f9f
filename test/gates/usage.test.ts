// verify refuses bad input before starting anything: exit 2, one clear error.
import t from 'tap'
import { clawbake } from '../support/cli.ts'

t.test('unknown gate id', async t => {
  const r = await clawbake(['verify', '--local', '--json', '--only', 'owner-exec,nope'], { env: { AVOTS_API_KEY: 'sk-x-123456789', AVOTS_BASE_URL: 'http://127.0.0.1:9/v1' } })
  t.equal(r.code, 2)
  t.match(r.json().error, { rule: 'gates.unknown-id' })
  t.match(r.stderr, /unknown gate id\(s\): nope/)
})

t.test('no avots key', async t => {
  const r = await clawbake(['verify', '--local', '--json'], { env: { AVOTS_API_KEY: '', AVOTS_BASE_URL: 'http://127.0.0.1:9/v1' } })
  t.equal(r.code, 2)
  t.match(r.json().error, { rule: 'env.avots-key-missing', field: 'AVOTS_API_KEY' })
})

t.test('unknown option', async t => {
  const r = await clawbake(['verify', '--lokal'])
  t.equal(r.code, 2)
  t.match(r.stderr, /usage: clawbake verify/)
})
