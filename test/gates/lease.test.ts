// OpenClaw's lost lease start: named from the gateway's own log, and the wait
// for a gateway that cannot come up stops early with that reason.
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LEASE_START_LOST_TEXT, leaseStartDeadline, leaseStartStuck, STUCK_AFTER_RESTARTS } from '../../src/openclaw/lease.ts'
import { ensureOpenclaw } from '../../src/openclaw/runtime.ts'
import { waitReady } from '../../src/gates/conversation.ts'
import type { Gateway, OpenclawHost } from '../../src/gates/host.ts'
import { startTelegramStandin } from '../../src/standins/telegram.ts'

// the line OpenClaw 2026.9.6 logs (src/state/openclaw-state-lease-heartbeat.ts), as a TCG build VM printed it
const LOST = 'Error: state lease heartbeat did not become ready (phase=startup, trigger=timeout, status=starting, elapsedMs=5004, timeoutMs=5000, onlineObserved=true, startupPhase=body-entry)'

t.test('a lost lease start is stuck once Docker restarted the gateway twice after it', async t => {
  const log = `[gateway] starting\n${LOST}\n[gateway] exiting`
  t.ok(LOST.includes(LEASE_START_LOST_TEXT))
  t.equal(leaseStartStuck(log, STUCK_AFTER_RESTARTS - 1), null, 'one restart may still come up')
  const why = leaseStartStuck(log, STUCK_AFTER_RESTARTS)
  t.match(why, /fixed 5 s/)
  t.match(why, /elapsedMs=5004, timeoutMs=5000/, 'OpenClaw\'s own words are kept')
  t.match(why, /2 restarts since/)
  t.equal(leaseStartStuck('[gateway] listening on 18789\nsome other error', 9), null, 'another failure is not this one')
})

t.test('waitReady stops waiting when the gateway says its start is stuck', async t => {
  const tg = await startTelegramStandin({ token: `123456789:${randomBytes(26).toString('base64url')}` })
  t.teardown(() => tg.close())
  let checks = 0
  const gw: Gateway = {
    output: () => '',
    exited: () => false,
    stop: async () => {},
    startStuck: async () => (++checks >= 2 ? leaseStartStuck(LOST, 2) : null),
  }
  const host = { gatewayUrl: 'http://127.0.0.1:9' } as OpenclawHost
  const t0 = Date.now()
  await t.rejects(waitReady(host, gw, tg, 60_000, { stuckCheckMs: 50 }), /gateway cannot start: OpenClaw's state lease heartbeat did not start within its fixed 5 s/)
  t.ok(Date.now() - t0 < 30_000, 'long before the 60 s ready timeout')
  t.equal(checks, 2)
  const never: Gateway = { ...gw, startStuck: async () => null }
  await t.rejects(waitReady(host, never, tg, 1_000, { stuckCheckMs: 50 }), /gateway not ready after 1 s/, 'without a stuck start it waits the whole timeout')
})

t.test('a release\'s fixed lease start is read from its own files, and only the exact constant counts', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'clawbake-lease-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  mkdirSync(join(dir, 'dist', 'state'), { recursive: true })
  writeFileSync(join(dir, 'dist', 'index.js'), 'const migration = "requires schema migration"; // a loose word is not the limit\n')
  t.equal(await leaseStartDeadline(dir), null, 'no constant: no deadline')
  writeFileSync(join(dir, 'dist', 'openclaw-state-lease-heartbeat-shared-X1.mjs'), 'const LEASE_HEARTBEAT_START_TIMEOUT_MS = 5e3;\nexport { LEASE_HEARTBEAT_START_TIMEOUT_MS };\n')
  t.same(await leaseStartDeadline(dir), { ms: 5000, file: 'dist/openclaw-state-lease-heartbeat-shared-X1.mjs' })
})

t.test('the pinned releases, as installed from npm: 2026.9.6 has the 5 s start', async t => {
  const rt = await ensureOpenclaw('2026.9.6')
  const d = await leaseStartDeadline(join(rt.dir, 'node_modules', 'openclaw'))
  t.equal(d?.ms, 5000, `read from ${d?.file}`)
  t.match(d?.file, /^dist\/.*\.m?js$/)
})
