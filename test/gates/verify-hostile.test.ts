// The lock-down gates can fail: a config that opens DMs to anyone and gives
// every sender the runtime tools fails stranger-refused and untrusted-tools.
import t from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { tempTree } from '../support/tree.ts'
import { verifyLocal } from './verify-run.ts'

t.setTimeout(900_000)

t.test('open DMs and exec for everyone: both lock-down gates fail', async t => {
  const root = tempTree(t)
  const file = join(root, 'packer', 'files', 'openclaw.json')
  const cfg = JSON.parse(readFileSync(file, 'utf8'))
  cfg.channels.telegram.dmPolicy = 'open'
  cfg.channels.telegram.allowFrom = ['*']
  cfg.tools.toolsBySender['*'] = { allow: ['group:runtime', 'read'] }
  writeFileSync(file, JSON.stringify(cfg, null, 2))
  const run = await verifyLocal(t, 'tool', ['--only', 'stranger-refused,untrusted-tools'], { cwd: root })
  t.equal(run.result.code, 1, run.result.stderr.slice(-3000))
  const stranger = run.gate('stranger-refused')
  t.equal(stranger.ok, false)
  t.match(stranger.detail, /the gateway accepted the DM \("Inbound message telegram:\d+/)
  const untrusted = run.gate('untrusted-tools')
  t.equal(untrusted.ok, false)
  t.match(untrusted.detail, /offered to a non-owner: exec/)
  t.match(run.result.stderr, /FAILED 2 of 2 gate\(s\): stranger-refused, untrusted-tools/)
})
