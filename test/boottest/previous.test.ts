// --upgrade-from: the image clients run today, for the boot test's upgrade
// from it. A channel or image reference is pulled from the real image store
// (docker-registry on loopback) and verified; a qcow2 file is taken as it is;
// one clock for both images; bad values are refused before anything boots.
import t from 'tap'
import { copyFileSync } from 'node:fs'
import { join } from 'node:path'
import { ClawbakeError } from '../../src/errors.ts'
import { clockForBoth, isImageFile, previousImage } from '../../src/boottest/previous.ts'
import { publishImage } from '../../src/publish/publish.ts'
import { describeDisk } from '../../src/store/disk-image.ts'
import { chooseClock } from '../../src/vm/accelerator.ts'
import { startRegistry } from '../support/registry.ts'
import { tempTree } from '../support/tree.ts'
import { bakedDisk, cli, publishInput, pushEnv } from '../store/helpers.ts'

const reg = await startRegistry(t, { auth: 'token' })

t.test('a channel: its current image, pulled from the store and verified, named with its release and reference', async t => {
  const root = tempTree(t)
  const file = await bakedDisk(root, '2026.9.6-b1')
  const d = await describeDisk(file)
  const published = await publishImage(publishInput(root, '2026.9.6-b1', d.sha256, d.size, { imageRepo: `${reg.host}/owner/clawbake-images`, bootTestPassed: true, env: pushEnv(reg) }))
  t.ok(published.moved)
  const lines: string[] = []
  const p = await previousImage({ ref: 'stable', root, cwd: root, dir: join(root, 'boot'), env: pushEnv(reg), log: l => lines.push(l) })
  t.equal(p.image, join(root, 'boot', 'previous-2026.9.6-b1.qcow2'))
  t.equal((await describeDisk(p.image)).sha256, d.sha256, 'the same bytes as published')
  t.equal(p.tag, '2026.9.6')
  t.equal(p.what, `stable: OpenClaw 2026.9.6 (${published.entry.store?.reference})`)
  t.ok(p.pullMs !== null && p.pullMs >= 0)
  t.match(lines, [/^the image clients run today: stable OpenClaw 2026\.9\.6, pulling /])
  const byTag = await previousImage({ ref: '2026.9.6-b1', root, cwd: root, dir: join(root, 'boot2'), env: pushEnv(reg) })
  t.equal(byTag.tag, '2026.9.6', 'an immutable store tag names the same image')

  const empty = await previousImage({ ref: 'extended-stable', root, cwd: root, dir: join(root, 'boot3'), env: pushEnv(reg) }).catch(e => e)
  t.ok(empty instanceof ClawbakeError)
  t.equal(empty.rule, 'store.channel-empty')
  t.equal(empty.exitCode, 1)
})

t.test('a qcow2 file: taken as it is, relative to the caller\'s directory; a missing one is a usage error', async t => {
  const root = tempTree(t)
  const file = await bakedDisk(root, 'x')
  copyFileSync(file, join(root, 'prev.qcow2'))
  t.ok(isImageFile('prev.qcow2') && isImageFile('/var/tmp/x') && !isImageFile('stable') && !isImageFile('sha256:abc'))
  const p = await previousImage({ ref: 'prev.qcow2', root, cwd: root, dir: join(root, 'boot'), env: {} })
  t.equal(p.image, join(root, 'prev.qcow2'))
  t.equal(p.tag, null, 'its release is read from its own pin when it boots')
  t.match(p.what, new RegExp(`^${join(root, 'prev.qcow2').replace(/[.]/g, '\\.')} \\(sha256:[0-9a-f]{12}\\)$`))
  const e = await previousImage({ ref: 'gone.qcow2', root, cwd: root, dir: join(root, 'boot'), env: {} }).catch(e => e)
  t.match(e, { rule: 'boot-test.previous-missing', exitCode: 2, field: '--upgrade-from' })
})

t.test('one clock for both images: the instruction clock when either release needs it', async t => {
  const real = chooseClock('tcg', {}, null)
  t.equal(real.clock, 'real')
  const needs = await clockForBoth('tcg', real, { image: 'p', what: 'p', tag: '2026.9.6', pullMs: null }, {})
  t.equal(needs.clock, 'instructions', 'the previous release has the fixed start-up deadline')
  t.match(needs.why, /^the previous image's release: OpenClaw 2026\.9\.6 has a fixed 5 s state-lease start/)
  t.equal(await clockForBoth('tcg', real, { image: 'p', what: 'p', tag: '2026.7.35', pullMs: null }, {}), real, 'neither needs it')
  t.equal(await clockForBoth('tcg', real, { image: 'p', what: 'p', tag: null, pullMs: null }, {}), real, 'unknown release: the candidate\'s choice')
  t.equal(await clockForBoth('kvm', chooseClock('kvm', {}, null), { image: 'p', what: 'p', tag: '2026.9.6', pullMs: null }, {}).then(c => c.clock), 'real', 'KVM is never slowed')
})

t.test('the command line refuses --upgrade-from where no boot test would use it, before anything starts', async t => {
  const root = tempTree(t)
  const a = await cli(root, ['bake', '--tag', '2026.9.6', '--no-boot-test', '--upgrade-from', 'stable', '--json'])
  t.equal(a.code, 2)
  t.match(a.json(), { ok: false, error: { rule: 'bake.upgrade-from' } })
  const b = await cli(root, ['bake', '--tag', '2026.9.6', '--builder', 'null', '--upgrade-from', 'stable', '--json'])
  t.equal(b.code, 2)
  t.match(b.json(), { ok: false, error: { rule: 'bake.upgrade-from' } })
  const file = await bakedDisk(root, 'y')
  const c = await cli(root, ['boot-test', file, '--once', '--upgrade-from', 'stable', '--json'])
  t.equal(c.code, 2)
  t.match(c.json(), { ok: false, error: { rule: 'boot-test.upgrade-from' } })
})
