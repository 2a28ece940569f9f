// The CLI gates against the real OpenClaw when another OpenClaw process holds
// the state database's lifecycle lock (what the running gateway does while it
// writes a turn). Seen in CI: `security audit` failed at once with "another
// OpenClaw process owns state-lifecycle" and the rehearsal bake failed its
// security-audit gate on lock contention, not on a finding.
//
// The lock is OpenClaw's own: an SQLite file held with BEGIN EXCLUSIVE at
// /tmp/openclaw-state-locks-<uid>/state-lifecycle.<sha256(db path)[0,8]>.lock.sqlite
// (2026.9.6, src/infra/state-database-coordinator*.ts). This test holds that
// very file, so if upstream moves it the first assertion says so.
import t from 'tap'
import { createHash, randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { cliRetryingContention, securityAudit, tail } from '../../src/gates/cli-gates.ts'
import { startLocalHost } from '../../src/gates/host-local.ts'
import { readPinRecord } from '../../src/pins/record.ts'
import { REPO } from '../support/tree.ts'

const host = await startLocalHost({
  vars: {
    OPENCLAW_GATEWAY_TOKEN: randomBytes(24).toString('hex'),
    AVOTS_BASE_URL: 'http://127.0.0.1:9/v1',
    AVOTS_API_KEY: `test-${randomBytes(12).toString('hex')}`,
    TELEGRAM_BOT_TOKEN: `123456:${randomBytes(16).toString('hex')}`,
    OWNER_TELEGRAM_ID: '4242',
  },
  apiRoot: 'http://127.0.0.1:9/',
  shippedConfig: readFileSync(join(REPO, 'packer', 'files', 'openclaw.json'), 'utf8'),
  version: readPinRecord(join(REPO, 'pins.lock.json')).tag,
  env: process.env,
})
t.teardown(() => host.close())

const uid = process.getuid?.() ?? 0
const lockDir = `/tmp/openclaw-state-locks-${uid}`
const database = join(host.stateDir, 'state', 'openclaw.sqlite')
const lockFile = join(lockDir, `state-lifecycle.${createHash('sha256').update(database).digest('hex').slice(0, 8)}.lock.sqlite`)
t.teardown(() => rmSync(lockFile, { force: true }))

/** Hold OpenClaw's state-lifecycle lock of this state dir, as a running gateway does. */
function holdLock(): () => void {
  mkdirSync(lockDir, { recursive: true, mode: 0o700 })
  const db = new DatabaseSync(lockFile)
  db.exec('PRAGMA journal_mode = MEMORY; BEGIN EXCLUSIVE;')
  return () => { db.exec('ROLLBACK'); db.close() }
}

t.test('the real CLI fails at once while the lock is held; a retry that never gets it fails with the real reason', async t => {
  const free = await host.cli(['security', 'audit', '--json'])
  t.equal(free.code, 0, `audit runs when the lock is free: ${free.stderr.slice(-500)}`)
  t.ok(existsSync(lockFile), `OpenClaw's lock file is where this test expects it: ${lockFile}`)
  const release = holdLock()
  try {
    const run = await cliRetryingContention(host, ['security', 'audit', '--json'], [50])
    t.not(run.code, 0, 'fails while the lock is held')
    t.equal(run.contended, 1, 'retried exactly as many times as delays were given')
    const detail = tail(run)
    t.match(detail, /another OpenClaw process owns state-lifecycle/, 'the reason is in the detail')
    t.notMatch(detail, /OPENCLAW_DEBUG|Try: openclaw doctor/, 'the generic hints are not')
  } finally {
    release()
  }
})

t.test('the gate retries contention and passes once the lock is released', async t => {
  // held for the first attempt, released as soon as that attempt has failed on it
  let release: (() => void) | null = holdLock()
  t.teardown(() => release?.())
  const releasing = {
    ...host,
    async cli(args: string[], timeoutMs?: number) {
      const run = await host.cli(args, timeoutMs)
      release?.()
      release = null
      return run
    },
  }
  const v = await securityAudit(releasing)
  t.equal(v.ok, true, v.detail)
  t.match(v.detail, /0 critical/)
  t.match(v.detail, /after 1 retry: state lock held by another OpenClaw process/, 'the detail says it waited')
})

t.test('a failure that is not contention is not retried', async t => {
  const run = await cliRetryingContention(host, ['no-such-command'], [5_000])
  t.not(run.code, 0)
  t.equal(run.contended, 0, 'no retry, no 5 s wait')
})
