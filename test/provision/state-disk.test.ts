// The client's state disk, run for real: packer/files/first-boot.sh with
// OPENCLAW_STATE_MOUNT (a directory standing for the mounted disk; the same
// script, only the mount skipped) for new state, adoption and every refusal,
// and packer/files/state-disk.sh `prepare` on real loop devices (blank,
// labelled, foreign file system, stray data) for what first boot formats and
// what it never touches.
import t from 'tap'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { REPO } from '../support/tree.ts'
import { readPinRecord } from '../../src/pins/record.ts'
import { run as runProc } from '../../src/proc/run.ts'

/** bash with exactly this environment, through the product's runner; never throws for an exit code. */
async function bash(args: string[], env: Record<string, string>): Promise<{ code: number; out: string; err: string }> {
  const r = await runProc('bash', args, { env })
  return { code: r.code ?? 2, out: r.stdout, err: r.stderr }
}

const RELEASE = readPinRecord(join(REPO, 'pins.lock.json')).tag
const secret = () => `avots-test-${randomBytes(16).toString('hex')}`
const botToken = () => `123456789:AA${randomBytes(24).toString('base64url').slice(0, 33)}`

function layout(t: { teardown(fn: () => void): void }) {
  const dir = mkdtempSync(join(tmpdir(), 'clawbake-statedisk-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const root = join(dir, 'opt-openclaw')
  cpSync(join(REPO, 'packer', 'files'), root, { recursive: true })
  // the image's V8 code cache, as the bake leaves it in state/
  mkdirSync(join(root, 'state', '.compile-cache'), { recursive: true })
  writeFileSync(join(root, 'state', '.compile-cache', 'image-cache'), 'v8 cache of the image')
  const mnt = join(dir, 'state-disk')
  const clientEnv = join(dir, 'client.env')
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', OPENCLAW_ROOT: root, OPENCLAW_SANDBOX_ETC: join(dir, 'etc-openclaw-sandbox'), OPENCLAW_FIRST_BOOT_SYSTEM: '0', OPENCLAW_STATE_MOUNT: mnt }
  const firstBoot = (owner: string, avots = secret(), extra = '') => {
    writeFileSync(clientEnv, `OWNER_TELEGRAM_ID=${owner}\nAVOTS_API_KEY=${avots}\nTELEGRAM_BOT_TOKEN=${botToken()}\nOPENCLAW_GATEWAY_TOKEN=\n${extra}`, { mode: 0o600 })
    return bash([join(root, 'first-boot.sh'), clientEnv], env)
  }
  const stateDisk = (...args: string[]) => bash([join(root, 'state-disk.sh'), ...args], env)
  return { dir, root, mnt, firstBoot, stateDisk }
}

/** Every file under `dir` with its content, for "nothing changed". */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {}
  const walk = (d: string, rel: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name)
      if (e.isDirectory()) walk(p, `${rel}${e.name}/`)
      else out[`${rel}${e.name}`] = readFileSync(p, 'base64')
    }
  }
  if (existsSync(dir)) walk(dir, '')
  return out
}

const savedCopies = (mnt: string) => existsSync(join(mnt, 'pre-upgrade')) ? readdirSync(join(mnt, 'pre-upgrade')).sort() : []

t.test('a blank state disk: the state is laid out on it and recorded with its owner and release', async t => {
  const l = layout(t)
  const r = await l.firstBoot('4242424242')
  t.equal(r.code, 0, r.err)
  t.same(JSON.parse(readFileSync(join(l.mnt, 'clawbake-state.json'), 'utf8')), { format: 1, owner: '4242424242', openclaw: RELEASE })
  t.ok(existsSync(join(l.mnt, 'openclaw', '.env')), 'the state is on the disk')
  t.ok(existsSync(join(l.mnt, 'openclaw', 'openclaw.json')))
  t.notOk(existsSync(join(l.root, 'state', '.env')), 'nothing of the client on the root disk')
  t.equal(readFileSync(join(l.mnt, 'openclaw', '.compile-cache', 'image-cache'), 'utf8'), 'v8 cache of the image', "the image's code cache comes along")
  t.same(savedCopies(l.mnt), [], 'nothing to save the first time')
})

t.test("adopting the owner's state: data and secrets kept, the image's config re-rendered, a copy saved first", async t => {
  const l = layout(t)
  const firstKey = secret()
  t.equal((await l.firstBoot('4242424242', firstKey)).code, 0)
  // what the client's agent made, and a config the earlier image shipped with weaker settings
  mkdirSync(join(l.mnt, 'openclaw', 'agents', 'main', 'sessions'), { recursive: true })
  writeFileSync(join(l.mnt, 'openclaw', 'agents', 'main', 'sessions', 'one.jsonl'), '{"role":"user"}\n')
  const config = JSON.parse(readFileSync(join(l.mnt, 'openclaw', 'openclaw.json'), 'utf8'))
  const shipped = JSON.stringify(config)
  config.gateway.bind = 'lan-everywhere-from-an-old-image'
  writeFileSync(join(l.mnt, 'openclaw', 'openclaw.json'), JSON.stringify(config))
  writeFileSync(join(l.mnt, 'openclaw', '.compile-cache', 'image-cache'), 'the old image\'s cache')
  const envBefore = readFileSync(join(l.mnt, 'openclaw', '.env'), 'utf8')

  // the new user-data: another key and token (not used), and endpoints of its own (used)
  const r = await l.firstBoot('4242424242', secret(), 'AVOTS_BASE_URL=http://10.0.2.2:4711/v1\nTELEGRAM_API_ROOT=http://10.0.2.2:4712\n')
  t.equal(r.code, 0, r.err)
  t.match(r.err, new RegExp(`state from OpenClaw ${RELEASE.replace(/\./g, '\\.')} adopted`))
  const envAfter = readFileSync(join(l.mnt, 'openclaw', '.env'), 'utf8')
  const line = (env: string, key: string) => env.split('\n').find(x => x.startsWith(`${key}=`))
  for (const key of ['AVOTS_API_KEY', 'TELEGRAM_BOT_TOKEN', 'OPENCLAW_GATEWAY_TOKEN', 'OWNER_TELEGRAM_ID']) t.equal(line(envAfter, key), line(envBefore, key), `${key} as it was (the new user-data's is not used)`)
  t.match(envBefore, new RegExp(`^AVOTS_API_KEY=${firstKey}$`, 'm'))
  t.equal(line(envAfter, 'AVOTS_BASE_URL'), 'AVOTS_BASE_URL=http://10.0.2.2:4711/v1', "the endpoints are the new user-data's")
  t.equal(line(envAfter, 'TELEGRAM_API_ROOT'), 'TELEGRAM_API_ROOT=http://10.0.2.2:4712')
  t.equal(readFileSync(join(l.mnt, 'openclaw', 'agents', 'main', 'sessions', 'one.jsonl'), 'utf8'), '{"role":"user"}\n', 'the session is kept')
  t.equal(JSON.stringify(JSON.parse(readFileSync(join(l.mnt, 'openclaw', 'openclaw.json'), 'utf8'))), shipped, "the image's config, the owner filled in")
  t.equal(readFileSync(join(l.mnt, 'openclaw', '.compile-cache', 'image-cache'), 'utf8'), 'v8 cache of the image', "the code cache is this image's")
  const copies = savedCopies(l.mnt)
  t.equal(copies.length, 1, 'one copy saved')
  t.match(copies[0], new RegExp(`^${RELEASE.replace(/\./g, '\\.')}-\\d{8}T\\d{6}Z$`))
  const saved = join(l.mnt, 'pre-upgrade', copies[0] as string)
  t.match(readFileSync(join(saved, 'openclaw', 'openclaw.json'), 'utf8'), /lan-everywhere-from-an-old-image/, 'the copy is the state from before')
  t.ok(existsSync(join(saved, 'openclaw', 'agents', 'main', 'sessions', 'one.jsonl')))
  t.notOk(existsSync(join(saved, 'openclaw', '.compile-cache')), 'no code cache in the copy')
  t.same(JSON.parse(readFileSync(join(saved, 'clawbake-state.json'), 'utf8')).owner, '4242424242')

  // the newest three copies are kept
  for (let i = 0; i < 3; i++) {
    await new Promise(res => setTimeout(res, 1100))
    t.equal((await l.firstBoot('4242424242')).code, 0)
  }
  const kept = savedCopies(l.mnt)
  t.equal(kept.length, 3, 'three copies kept')
  t.notOk(kept.includes(copies[0] as string), 'the oldest went')
})

t.test('refusals: another owner, a newer OpenClaw, no recognizable state; nothing on the disk changes', async t => {
  const l = layout(t)
  t.equal((await l.firstBoot('4242424242')).code, 0)
  const before = snapshot(l.mnt)

  const other = await l.firstBoot('5555555555')
  t.equal(other.code, 1)
  t.match(other.err, /state-disk: the state disk holds the agent of another owner \(4242424242\), not of 5555555555: it is not adopted/)
  t.match(other.err, /first-boot: the state disk is not adopted \(above\): the stack stays stopped/)
  t.same(snapshot(l.mnt), before, 'nothing changed')

  const record = join(l.mnt, 'clawbake-state.json')
  const newer = readFileSync(record, 'utf8').replace(RELEASE, '2099.1.1')
  writeFileSync(record, newer)
  const down = await l.firstBoot('4242424242')
  t.equal(down.code, 1)
  t.match(down.err, new RegExp(`the state is from OpenClaw 2099\\.1\\.1, newer than this image's ${RELEASE.replace(/\./g, '\\.')} \\(a downgrade\\): it is not adopted`))
  t.match(down.err, /state-disk\.sh rollback/)
  t.same(snapshot(l.mnt), { ...before, 'clawbake-state.json': Buffer.from(newer).toString('base64') }, 'nothing changed')

  const stray = layout(t)
  mkdirSync(stray.mnt)
  writeFileSync(join(stray.mnt, 'photos.tar'), 'not ours')
  const none = await stray.firstBoot('4242424242')
  t.equal(none.code, 1)
  t.match(none.err, /holds no recognizable clawbake state \(no clawbake-state\.json and openclaw\/\): it is not adopted/)
  t.same(readdirSync(stray.mnt), ['photos.tar'], 'nothing written')

  const bad = await l.stateDisk('record', l.mnt, '4242424242', 'latest')
  t.equal(bad.code, 1)
  t.match(bad.err, /release 'latest' is not an OpenClaw release/)
})

t.test('rollback puts the saved copy back, and the image that made it adopts it again', async t => {
  const l = layout(t)
  t.equal((await l.firstBoot('4242424242')).code, 0)
  t.equal((await l.firstBoot('4242424242')).code, 0, 'an upgrade: a copy is saved')
  const saved = snapshot(join(l.mnt, 'openclaw'))
  delete saved['.compile-cache/image-cache']
  // what a newer OpenClaw's migration would leave: a changed state and a newer record
  writeFileSync(join(l.mnt, 'openclaw', 'migrated.json'), '{"schema":99}')
  t.equal((await l.stateDisk('record', l.mnt, '4242424242', '2099.1.1')).code, 0)
  t.equal((await l.firstBoot('4242424242')).code, 1, 'the older image refuses the newer state')

  const r = await l.stateDisk('rollback', l.mnt)
  t.equal(r.code, 0, r.err)
  t.match(r.out, new RegExp(`the state of OpenClaw ${RELEASE.replace(/\./g, '\\.')} is back`))
  const now = snapshot(join(l.mnt, 'openclaw'))
  t.same(now, saved, 'the state is the saved copy')
  const rolled = readdirSync(join(l.mnt, 'rolled-back'))
  t.equal(rolled.length, 1)
  t.ok(existsSync(join(l.mnt, 'rolled-back', rolled[0] as string, 'openclaw', 'migrated.json')), 'the state it replaced is kept')
  const again = await l.firstBoot('4242424242')
  t.equal(again.code, 0, again.err)

  const empty = layout(t)
  mkdirSync(empty.mnt)
  const nothing = await empty.stateDisk('rollback', empty.mnt)
  t.equal(nothing.code, 1)
  t.match(nothing.err, /holds no saved copy: nothing to go back to/)
})

t.test('prepare on real block devices: formats only a blank disk; a foreign file system or stray data is never touched', async t => {
  const l = layout(t)
  const loops: string[] = []
  t.teardown(async () => {
    for (const d of loops) await runProc('umount', [join(l.dir, `m-${d.replace(/\W/g, '')}`)]).catch(() => {})
    for (const d of loops) await runProc('losetup', ['--detach', d]).catch(() => {})
  })
  const device = async (name: string, init?: (file: string) => Promise<void>) => {
    const file = join(l.dir, `${name}.img`)
    writeFileSync(file, '')
    await runProc('truncate', ['-s', '64M', file])
    if (init) await init(file)
    const dev = (await runProc('losetup', ['--find', '--show', file])).stdout.trim()
    loops.push(dev)
    return dev
  }
  const mountDir = (dev: string) => join(l.dir, `m-${dev.replace(/\W/g, '')}`)
  const blkid = async (dev: string, tag: string) => (await runProc('blkid', ['-p', '-o', 'value', '-s', tag, dev]).catch(() => ({ stdout: '' }))).stdout.trim()

  const blank = await device('blank')
  const r = await l.stateDisk('prepare', blank, mountDir(blank))
  t.equal(r.code, 0, r.err)
  t.equal(r.out.trim(), 'new')
  t.equal(await blkid(blank, 'LABEL'), 'openclaw-state')
  t.equal(await blkid(blank, 'TYPE'), 'ext4')
  writeFileSync(join(mountDir(blank), 'kept'), 'x')
  await runProc('umount', [mountDir(blank)])
  const again = await l.stateDisk('prepare', blank, mountDir(blank))
  t.equal(again.out.trim(), 'existing', 'the labelled disk is not formatted again')
  t.equal(readFileSync(join(mountDir(blank), 'kept'), 'utf8'), 'x')

  const foreign = await device('foreign', f => runProc('mkfs.ext4', ['-q', '-L', 'photos', f]).then(() => {}))
  const f = await l.stateDisk('prepare', foreign, mountDir(foreign))
  t.equal(f.code, 1)
  t.match(f.err, /holds ext4 labelled photos, not a clawbake state disk \(ext4 labelled openclaw-state\): it is neither adopted nor formatted/)
  t.equal(await blkid(foreign, 'LABEL'), 'photos', 'untouched')

  const data = await device('data', async file => { writeFileSync(file, randomBytes(4096), { flag: 'r+' }) })
  const d = await l.stateDisk('prepare', data, mountDir(data))
  t.equal(d.code, 1)
  t.match(d.err, /is not blank \(data in its first MiB, no file system blkid knows\): it is neither adopted nor formatted/)
  t.equal(await blkid(data, 'TYPE'), '', 'still no file system')

  const notBlock = await l.stateDisk('find', join(l.dir, 'blank.img'))
  t.equal(notBlock.code, 1)
  t.match(notBlock.err, /is not a block device/)
})
