// The product's Bot API stand-in speaks the Bot API as Telegram does.
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { startTelegramStandin } from '../../src/standins/telegram.ts'

const token = `123456789:${randomBytes(26).toString('base64url')}`

async function call(root: string, method: string, params: Record<string, unknown> = {}, tok = token) {
  const res = await fetch(`${root}/bot${tok}/${method}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(params) })
  return { status: res.status, body: await res.json() as any }
}

t.test('getMe, errors, unknown methods', async t => {
  const tg = await startTelegramStandin({ token })
  t.teardown(() => tg.close())
  t.match(tg.apiRoot, /^http:\/\/127\.0\.0\.1:\d+$/)
  const me = await call(tg.apiRoot, 'getMe')
  t.same({ status: me.status, ok: me.body.ok, id: me.body.result.id, is_bot: me.body.result.is_bot }, { status: 200, ok: true, id: 123456789, is_bot: true })
  t.same((await call(tg.apiRoot, 'getMe', {}, '123456789:wrongwrongwrongwrongwrong')).body, { ok: false, error_code: 401, description: 'Unauthorized' })
  t.same((await call(tg.apiRoot, 'noSuchMethod')).body, { ok: false, error_code: 404, description: 'Not Found' })
  const nochat = await call(tg.apiRoot, 'sendMessage', { chat_id: 42, text: 'hi' })
  t.same([nochat.status, nochat.body], [400, { ok: false, error_code: 400, description: 'Bad Request: chat not found' }])
  // query-string and urlencoded parameters work too
  const res = await fetch(`${tg.apiRoot}/bot${token}/getWebhookInfo?x=1`)
  t.same(await res.json(), { ok: true, result: { url: '', has_custom_certificate: false, pending_update_count: 0 } })
})

t.test('getUpdates: offset confirms, long poll wakes on a DM, replies are observed', async t => {
  const tg = await startTelegramStandin({ token })
  t.teardown(() => tg.close())
  const first = tg.sendDm({ id: 777 }, 'hello')
  const got = await call(tg.apiRoot, 'getUpdates', { timeout: 0 })
  t.equal(got.body.result.length, 1)
  t.equal(got.body.result[0].update_id, first.update_id)
  t.same(got.body.result[0].message.chat, { id: 777, type: 'private', first_name: 'user777' })
  t.ok(tg.delivered(first.update_id))
  t.notOk(tg.confirmed(first.update_id), 'not confirmed until a higher offset is asked for')
  // long poll with the next offset: returns as soon as a DM arrives
  const t0 = Date.now()
  const poll = call(tg.apiRoot, 'getUpdates', { offset: first.update_id + 1, timeout: 20 })
  setTimeout(() => tg.sendDm({ id: 777 }, 'second'), 300)
  const second = await poll
  t.ok(Date.now() - t0 < 5000, 'woke early')
  t.equal(second.body.result[0].message.text, 'second')
  t.ok(tg.confirmed(first.update_id))
  // a second concurrent long poll terminates the first with 409, as Telegram does
  const older = call(tg.apiRoot, 'getUpdates', { offset: second.body.result[0].update_id + 1, timeout: 20 })
  await new Promise(r => setTimeout(r, 100))
  const newer = call(tg.apiRoot, 'getUpdates', { offset: second.body.result[0].update_id + 1, timeout: 0 })
  t.equal((await older).status, 409)
  t.same((await newer).body, { ok: true, result: [] })

  const sent = await call(tg.apiRoot, 'sendMessage', { chat_id: 777, text: 'pong' })
  t.equal(sent.body.result.text, 'pong')
  t.equal(sent.body.result.from.is_bot, true)
  const edited = await call(tg.apiRoot, 'editMessageText', { chat_id: 777, message_id: sent.body.result.message_id, text: 'pong!' })
  t.equal(edited.body.result.text, 'pong!')
  t.same(tg.replies(777).map(r => [r.method, r.text]), [['sendMessage', 'pong'], ['editMessageText', 'pong!']])
  t.same(tg.replies(778), [])
  const empty = await call(tg.apiRoot, 'sendMessage', { chat_id: 777, text: '  ' })
  t.equal(empty.body.description, 'Bad Request: message text is empty')
})

t.test('getUpdates is refused while a webhook is set', async t => {
  const tg = await startTelegramStandin({ token })
  t.teardown(() => tg.close())
  await call(tg.apiRoot, 'setWebhook', { url: 'https://example.invalid/hook' })
  const r = await call(tg.apiRoot, 'getUpdates')
  t.equal(r.status, 409)
  await call(tg.apiRoot, 'deleteWebhook')
  t.equal((await call(tg.apiRoot, 'getUpdates')).status, 200)
})

t.test('update_ids and message_ids are never handed out twice: the same bot\'s next stand-in goes on from the last one', async t => {
  const a = await startTelegramStandin({ token })
  const u1 = a.sendDm({ id: 777 }, 'before the upgrade')
  const u2 = a.sendDm({ id: 777 }, 'still before')
  t.equal(u2.update_id, u1.update_id + 1)
  // the client confirms both, as a gateway does, and keeps that offset in its state
  const offset = u2.update_id + 1
  t.same((await call(a.apiRoot, 'getUpdates', { offset, timeout: 0 })).body, { ok: true, result: [] })
  t.same(a.sequence(), { updateId: offset, messageId: u2.message!.message_id + 1 })
  await a.close()
  const b = await startTelegramStandin({ token, firstUpdateId: a.sequence().updateId, firstMessageId: a.sequence().messageId })
  t.teardown(() => b.close())
  const u3 = b.sendDm({ id: 777 }, 'after the upgrade')
  t.equal(u3.update_id, offset, 'the sequence goes on')
  t.ok(u3.message!.message_id > u2.message!.message_id, 'a new message id: OpenClaw drops a message id it dispatched before')
  const got = await call(b.apiRoot, 'getUpdates', { offset, timeout: 0 })
  t.same(got.body.result.map((u: { update_id: number }) => u.update_id), [u3.update_id], 'a client that kept its offset gets the new DM')
})
