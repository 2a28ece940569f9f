// The gate suite's small pure parts.
import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { readFileSync } from 'node:fs'
import { layOutConfig, unexpandedKeys } from '../../src/gates/layout.ts'
import { parseSse } from '../../src/gates/avots-proxy.ts'
import { findSecrets } from '../../src/gates/no-secret-left.ts'
import { isLoopback, listenersOf } from '../../src/gates/listeners.ts'
import { promptTools } from '../../src/gates/untrusted-tools.ts'
import { createServer } from 'node:net'
import { REPO } from '../support/tree.ts'

const shipped = readFileSync(join(REPO, 'packer', 'files', 'openclaw.json'), 'utf8')

t.test('layout fills the owner id as first boot does, points Telegram at the stand-in', async t => {
  t.not(unexpandedKeys(shipped).length, 0, 'the shipped file has a ${VAR} in an object key (toolsBySender)')
  const text = layOutConfig(shipped, { ownerId: '4242', apiRoot: 'http://127.0.0.1:9/', gatewayPort: 5555, sandboxSsh: { target: 'u@127.0.0.1:22', identityFile: '/k', knownHostsFile: '/kh', workspaceRoot: '/w' } })
  const cfg = JSON.parse(text)
  t.same(unexpandedKeys(text), [], 'no ${VAR} left in keys')
  t.ok(cfg.tools.toolsBySender['id:4242'], 'owner key filled in')
  t.equal(cfg.channels.telegram.apiRoot, 'http://127.0.0.1:9/')
  t.equal(cfg.gateway.port, 5555)
  t.equal(cfg.agents.defaults.sandbox.ssh.target, 'u@127.0.0.1:22')
  t.equal(cfg.models.providers.avots.apiKey, '${AVOTS_API_KEY}', 'secrets stay references')
  t.equal(cfg.channels.telegram.dmPolicy, JSON.parse(shipped).channels.telegram.dmPolicy, 'policy unchanged')
  t.throws(() => layOutConfig(shipped, { ownerId: '12a', apiRoot: 'x' }), /Telegram user id/)
  const other = JSON.parse(shipped)
  other.tools.toolsBySender['id:${SECOND_OWNER}'] = { allow: ['group:runtime'] }
  t.same(unexpandedKeys(layOutConfig(JSON.stringify(other), { ownerId: '4242', apiRoot: 'x' })), ['tools.toolsBySender.id:${SECOND_OWNER}'], 'a key first boot does not fill is reported')
})

t.test('SSE tool-call deltas are assembled', async t => {
  const body = [
    'data: {"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}',
    'data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"exec","arguments":""}}]}}]}',
    'data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\\"command\\":"}}]}}]}',
    'data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\\"ls\\"}"}}]}}]}',
    'data: [DONE]', '',
  ].join('\n\n')
  t.same(parseSse(body), { toolCalls: [{ id: 'call_1', name: 'exec', arguments: '{"command":"ls"}' }], text: '' })
})

t.test('findSecrets searches bytes in every file, names where', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'clawbake-secrets-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  mkdirSync(join(dir, 'a', 'b'), { recursive: true })
  writeFileSync(join(dir, 'a', 'b', 'db.sqlite'), Buffer.concat([Buffer.from([0, 1, 2]), Buffer.from('xx-sk-test-0123456789-xx'), Buffer.from([0])]))
  writeFileSync(join(dir, 'clean.log'), 'nothing here')
  const r = findSecrets([dir], [{ name: 'key', value: 'sk-test-0123456789' }, { name: 'token', value: 'not-there-at-all' }])
  t.same(r.hits, [`key in ${join(dir, 'a', 'b', 'db.sqlite')}`])
  t.equal(r.files, 2)
})

t.test('listeners: sockets of a process, loopback or not', async t => {
  const s = createServer()
  await new Promise<void>(r => s.listen(0, '127.0.0.1', () => r()))
  t.teardown(() => s.close())
  const port = (s.address() as { port: number }).port
  const mine = listenersOf([process.pid])
  t.ok(mine.some(l => l.proto === 'tcp' && l.address === '127.0.0.1' && l.port === port && l.pid === process.pid), 'found our own listener')
  t.ok(isLoopback('127.0.0.1') && isLoopback('::1') && isLoopback('::ffff:127.0.0.1'))
  t.notOk(isLoopback('0.0.0.0') || isLoopback('::') || isLoopback('10.0.0.1'))
})

t.test('tool names advertised in the system prompt, deferred ones included', async t => {
  const call = { messages: [{ role: 'system', content: 'x\n## Tooling\nTools policy-filtered.\n- read: Read files\n- tool_call\n### Deferred Tool Schemas\nAvailable deferred-schema tools: cron, nodes.\n## Safety\n- exec: not a tool list' }] } as any
  t.same(promptTools(call).sort(), ['cron', 'nodes', 'read', 'tool_call'])
})
