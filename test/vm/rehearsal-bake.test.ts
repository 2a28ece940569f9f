// THE REAL BAKE, offline: `clawbake bake --tag 2026.9.6 --rehearsal` as a
// user types it. Real Packer (Debian 1.6.6) drives real qemu (TCG here: this
// machine's KVM cannot run stock guests) booting a Debian 13 cloud base built
// from Debian's packages; the VM pulls an OpenClaw image built from npm by
// the production reference ghcr.io/openclaw/openclaw:<tag>@sha256:<digest>
// (a real docker-registry on loopback, served as ghcr.io over TLS through
// qemu's guestfwd); the gate suite runs INSIDE the VM against the shipped
// compose stack, first-boot path and socket-activated sandbox; the captured
// qcow2 is converted and searched; then it publishes into a scratch catalog.
//
// Two bakes, both run before any assertion (tap takes no subtest after a
// long wait), shared by every assertion that can use them:
// - the image bake, from the Debian base, with the gates that start no
//   OpenClaw (`--rehearsal-gates`): install, pull, first boot, the avots
//   smoke, the scrub, the capture and the disk inspection, then it stops
//   unpublished. Its image serves the disk, identity and boot-test checks.
// - the full bake, every gate, on that image (`--base-image`: no install, no
//   pull). It publishes held (no --boot-test). Under TCG, OpenClaw 2026.9.6
//   can lose its fixed 5 s state-lease start (src/openclaw/lease.ts); then
//   this bake must fail closed and say so, and the assertions that need its
//   published image are skipped with that reason.
import t from 'tap'
import { createHash, randomBytes } from 'node:crypto'
import { createReadStream, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BIN, clawbake } from '../support/cli.ts'
import { bakeTree } from '../bake/helpers.ts'
import { run, runOk, startDaemon } from '../../src/proc/run.ts'
import { searchFile } from '../../src/bake/inspect.ts'
import { GATE_IDS } from '../../src/gates/gate.ts'
import { bootTimeouts, runBootTest } from '../../src/boottest/boot-test.ts'
import { startAvotsStandin } from '../../src/standins/avots.ts'
import { failedOnLeaseLimit } from '../../src/openclaw/lease.ts'

t.setTimeout(3_600_000)

async function sha256(file: string): Promise<string> {
  const h = createHash('sha256')
  for await (const c of createReadStream(file)) h.update(c as Buffer)
  return h.digest('hex')
}

const avotsKey = `sk-avots-vmtest-${randomBytes(18).toString('hex')}`
const env = { AVOTS_API_KEY: avotsKey, GITHUB_API_URL: 'http://127.0.0.1:9' }
type Gate = { id: string; ok: boolean; detail: string }

// the image bake: the gates that start no OpenClaw, then it stops unpublished
const IMAGE_GATES = ['avots-smoke', 'no-secret-left']
const imageRoot = bakeTree(t)
let t0 = Date.now()
const imageBake = await clawbake(['bake', '--tag', '2026.9.6', '--rehearsal', '--rehearsal-gates', IMAGE_GATES.join(','), '--json'], { cwd: imageRoot, env: { ...env, CLAWBAKE_ROOT: imageRoot } })
t.comment(`image bake: exit ${imageBake.code} in ${Math.round((Date.now() - t0) / 1000)} s`)
const img = imageBake.code === 1 ? imageBake.json() : null
const imageTree = img?.rehearsal?.root as string
const imageFile = img?.artifact ? join(imageTree, img.artifact.id) : ''
const accelerator = /accelerator (kvm|tcg)/.exec(img?.stages?.find((x: { stage: string }) => x.stage === 'prepare')?.detail ?? '')?.[1] as 'kvm' | 'tcg' | undefined

// the full bake: every gate, on the image bake's disk
const root = bakeTree(t)
t0 = Date.now()
const bake = img?.error?.rule === 'bake.partial-gates'
  ? await clawbake(['bake', '--tag', '2026.9.6', '--rehearsal', '--base-image', imageFile, '--base-checksum', `sha256:${img.artifact.sha256}`, '--json'], { cwd: root, env: { ...env, CLAWBAKE_ROOT: root } })
  : null
t.comment(`full bake: exit ${bake?.code} in ${Math.round((Date.now() - t0) / 1000)} s${bake && bake.code !== 0 ? `: ${bake.stderr.slice(-1500)}` : ''}`)
const out = bake && (bake.code === 0 || bake.code === 1) ? bake.json() : null
const failedGates: Gate[] = (out?.gates?.gates ?? []).filter((g: Gate) => !g.ok)
// OpenClaw's own start-up limit on this CPU, not the image: the failed gates say a lease was lost
const leaseLimit = bake?.code === 1 && out?.gates?.mode === 'vm' && failedOnLeaseLimit(failedGates)
const skipPublished = leaseLimit ? `OpenClaw 2026.9.6 lost its fixed 5 s state-lease start on this ${accelerator ?? ''} CPU: ${failedGates.map(g => g.id).join(', ')}` : false
if (leaseLimit) t.comment(`SKIP published-image assertions: ${skipPublished}`)

t.test('the image bake: built from the Debian base, gated, inspected, and kept unpublished', async t => {
  t.equal(imageBake.code, 1, `exit 1 (a bake of some gates never publishes)\n${imageBake.stderr.slice(-6000)}`)
  t.equal(img?.error?.rule, 'bake.partial-gates', img?.error?.message)
  t.match(img?.error?.message, /avots-smoke, no-secret-left passed, .*owner-exec.* did not run/)
  t.equal(img.published, false)
  t.equal(img.builder, 'qemu')
  t.ok(imageTree?.startsWith(join(imageRoot, '.clawbake', 'rehearsal')), 'the scratch tree is under the run state, not the checkout')
  t.equal(img.gates?.mode, 'vm', 'the gates ran inside the VM')
  t.same(img.gates.gates.map((g: Gate) => [g.id, g.ok]), IMAGE_GATES.map(id => [id, true]), 'only the asked gates, each passed')
  t.ok(existsSync(imageFile), `the qcow2 is there: ${imageFile}`)
  t.equal(img.artifact.sha256, await sha256(imageFile), 'the reported sha256 is the qcow2 file')
  t.match(img.stages.find((s: { stage: string }) => s.stage === 'inspect')?.detail, /^clean: /, 'the disk was inspected')
  t.notOk(existsSync(join(imageTree, 'catalog', 'stable.json')), 'nothing published')
  t.same(readFileSync(join(imageRoot, 'pins.lock.json'), 'utf8'), readFileSync(join(process.cwd(), 'pins.lock.json'), 'utf8'), 'the tree the command ran in is not re-pinned')
})

t.test('the full bake publishes, from a VM, into its scratch catalog', { skip: skipPublished }, async t => {
  t.equal(bake?.code, 0, `bake exit 0\n${bake?.stderr.slice(-6000)}`)
  t.equal(out.published, true)
  t.equal(out.builder, 'qemu')
  const tree = out.rehearsal.root as string
  t.ok(tree.startsWith(join(root, '.clawbake', 'rehearsal')), 'the scratch tree is under the run state, not the checkout')
  const pin = JSON.parse(readFileSync(join(tree, 'pins.lock.json'), 'utf8'))
  t.equal(out.digest, pin.digest, 'baked what it pinned')
  const entry = JSON.parse(readFileSync(join(tree, 'catalog', 'stable.json'), 'utf8')).entries.at(-1)
  t.equal(entry.digest, pin.digest, 'catalog digest == pin')
  const qcow2 = join(tree, entry.artifact.id)
  t.ok(existsSync(qcow2), `the qcow2 is there: ${qcow2}`)
  t.equal(entry.artifact.sha256, await sha256(qcow2), 'catalog sha256 == the qcow2 file')
  t.match(entry.store?.reference, /^127\.0\.0\.1:\d+\/clawbake-images:2026\.9\.6-/, 'pushed to the image store')
  t.equal(entry.store?.sha256, entry.artifact.sha256, 'the stored disk is the qcow2')
  t.equal(entry.held, true, 'held: without --boot-test the channel tag does not move')
  t.equal(entry.bootTest, undefined)
  t.notOk(out.stages.some((x: { stage: string }) => x.stage === 'boot-test'), 'no boot-test stage was asked for')
  t.match(out.stages.find((s: { stage: string }) => s.stage === 'inspect')?.detail, /^clean: /, 'the disk was inspected before publishing')
})

t.test('the gate report was made inside the VM and every gate passed, admin-tunnel included', { skip: skipPublished }, async t => {
  const gates = out.gates
  t.equal(gates.mode, 'vm')
  t.same(gates.gates.map((g: { id: string }) => g.id), [...GATE_IDS])
  for (const g of gates.gates) t.ok(g.ok, `${g.id}: ${g.detail}`)
  const byId = Object.fromEntries(gates.gates.map((g: { id: string; detail: string }) => [g.id, g.detail]))
  t.match(byId['owner-exec'], /written to \/srv\/openclaw-sandbox\/owner-exec-[0-9a-f]+\.txt by sandbox/, 'the nonce file was made by the shipped sandbox user')
  t.match(byId['owner-exec'], /state dir \/opt\/openclaw\/state/, 'against the shipped layout')
  t.match(byId['admin-tunnel'], /127\.0\.0\.1:18789\/healthz ok/)
  t.match(byId['admin-tunnel'], /without token 40[13]/)
  t.match(byId['admin-tunnel'], /Docker publishes only on 127\.0\.0\.1/)
})

t.test('a full bake whose gates lost OpenClaw\'s lease start failed closed and said so', { skip: leaseLimit ? false : 'the full bake\'s gates did not hit OpenClaw\'s lease limit' }, async t => {
  t.equal(out.published, false)
  t.equal(out.error.rule, 'publish.gate-failed')
  t.match(bake?.stderr, /gate verdict: failed/, 'the verdict failed the Packer build')
  t.notOk(existsSync(join(out.rehearsal.root, 'catalog', 'stable.json')), 'nothing published')
  const blocked = failedGates.filter(g => /^gateway not ready/.test(g.detail))
  for (const g of blocked) t.match(g.detail, /gateway cannot start: OpenClaw's state lease heartbeat did not start within its fixed 5 s/, `${g.id}: stopped waiting, and why`)
  for (const g of blocked) t.match(g.detail, /container [0-9a-f]{12} .*restarts=\d+/, `${g.id}: with the container's evidence`)
})

t.test('the build VM recorded its identity before the scrub (what a client VM must not share)', async t => {
  const id = JSON.parse(readFileSync(join(img.runDir as string, 'build-identity.json'), 'utf8'))
  t.match(id.machineId, /^[0-9a-f]{32}$/)
  t.ok(id.hostKeys.length >= 1 && id.hostKeys.every((k: string) => /^SHA256:[A-Za-z0-9+/]+$/.test(k)), `host key fingerprints: ${id.hostKeys.join(', ')}`)
})

t.test('a first boot that cannot start the stack (no avots key) fails the boot test, with cloud-init\'s and the unit\'s account', async t => {
  t.ok(accelerator, 'the bake said which accelerator it used')
  const avots = await startAvotsStandin({ mode: 'tool', apiKey: avotsKey })
  t.teardown(() => avots.close())
  const dir = mkdtempSync(join(tmpdir(), 'clawbake-boot-fail-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const pin = JSON.parse(readFileSync(join(imageTree, 'pins.lock.json'), 'utf8'))
  // the user-data `clawbake user-data` made, with the avots key taken out: what first-boot.sh refuses
  const report = await runBootTest({
    image: imageFile, pinnedRef: `ghcr.io/openclaw/openclaw:2026.9.6@${pin.digest}`, openclawVersion: '2026.9.6', root: imageTree, dir,
    accelerator: accelerator as 'kvm' | 'tcg', avotsUpstream: avots.baseUrl, avotsApiKey: avotsKey, buildIdentity: JSON.parse(readFileSync(join(img.runDir as string, 'build-identity.json'), 'utf8')), secondBoot: false,
    editUserData: text => text.replace(/^(\s*)AVOTS_API_KEY=.*$/m, '$1AVOTS_API_KEY='),
    ...bootTimeouts(accelerator as 'kvm' | 'tcg'), log: l => t.comment(l),
  })
  t.equal(report.ok, false)
  const ci = report.gates.find(g => g.id === 'cloud-init')!
  t.equal(ci.ok, false, 'the failed check is named')
  t.match(ci.detail, /cloud-init status error/)
  t.match(ci.detail, /== cloud-init status --long/)
  t.match(ci.detail, /first-boot: AVOTS_API_KEY is missing or malformed/, 'first-boot.sh said why')
  t.match(ci.detail, /== journalctl -u openclaw\.service/)
  t.match(ci.detail, /serial console/)
  t.same(report.gates.filter(g => g.id !== 'cloud-init').map(g => g.detail), Array(report.gates.length - 1).fill('did not run (an earlier step failed)'))
  t.notOk(report.gates.some(g => g.id === 'second-boot'), 'no second boot asked')
  t.ok(existsSync(join(dir, 'boot-1', 'serial.log')) && existsSync(join(dir, 'boot-1', 'disk.qcow2')), 'the overlay and the serial log are kept for inspection')
  t.notOk(existsSync(join(imageTree, 'catalog', 'stable.json')), 'nothing was published by it')
})

t.test('the captured disk: no secret in its raw bytes, no build leftover', async t => {
  // an independent search, with the key this test chose
  const dir = mkdtempSync(join(tmpdir(), 'clawbake-vmdisk-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const raw = join(dir, 'disk.raw')
  await runOk('qemu-img', ['convert', '-O', 'raw', imageFile, raw], { timeoutMs: 900_000 })
  const r = searchFile(raw, [{ name: 'avots key', value: avotsKey }])
  t.same(r.hits, [], `the avots key is nowhere in ${r.bytes} bytes`)
  t.ok(r.bytes > 4 * 2 ** 30, 'the whole disk')
  const inspection = JSON.parse(readFileSync(join(img.runDir as string, 'inspection.json'), 'utf8'))
  t.equal(inspection.ok, true)
  t.same(inspection.findings, [])
  for (const p of ['/home/clawbake', '/etc/docker/certs.d/ghcr.io', '/srv/openclaw-sandbox', '/etc/ssh/ssh_host_ed25519_key', '/etc/machine-id', '/etc/hosts', '/etc/passwd']) t.ok(inspection.checked.includes(p), `checked ${p}`)
  for (const b of [imageBake, bake]) t.notOk(b && (b.stderr.includes(avotsKey) || b.stdout.includes(avotsKey)), 'the key is in no output')
})

t.test('Ctrl-C while the VM boots leaves no qemu, registry or stand-in running, and no lock', async t => {
  const root3 = bakeTree(t)
  const registries = async () => (await run('pgrep', ['-c', '-x', 'docker-registry'])).stdout.trim()
  const registriesBefore = await registries()
  let sawBoot = false
  let pid = 0
  const waited = new Promise<void>(resolve => {
    const d = startDaemon(process.execPath, [BIN, 'bake', '--tag', '2026.9.6', '--rehearsal', '--json'], {
      env: { ...process.env, ...env, CLAWBAKE_ROOT: root3 },
      cwd: root3,
      onLine: line => {
        if (!sawBoot && /Waiting for SSH to become available/.test(line)) {
          sawBoot = true
          process.kill(pid, 'SIGINT')
        }
      },
    })
    pid = d.pid
    t.teardown(() => d.stop())
    void d.exited.then(code => { t.equal(code, 2, `exit 2 after the interrupt\n${d.output().slice(-3000)}`); resolve() })
  })
  await waited
  t.ok(sawBoot, 'interrupted while the VM was booting')
  const procs = (await run('ps', ['-eo', 'pid,args'])).stdout.split('\n')
  const runTree = join(root3, '.clawbake')
  t.same(procs.filter(l => l.includes(runTree)), [], 'no process of that bake is left (qemu)')
  t.same(procs.filter(l => /socat STDIO TCP4:127\.0\.0\.1/.test(l)), [], 'no guestfwd socat left')
  t.equal(await registries(), registriesBefore, 'its two docker-registry processes were stopped')
  const trees = readdirSync(join(root3, '.clawbake', 'rehearsal'))
  t.equal(trees.length, 1)
  t.notOk(existsSync(join(root3, '.clawbake', 'rehearsal', trees[0] as string, 'tree', '.clawbake', 'bake.lock')), 'the bake lock was released')
  t.notOk(existsSync(join(root3, '.clawbake', 'rehearsal', trees[0] as string, 'tree', 'catalog', 'stable.json')), 'nothing published')
})

t.test('a real in-VM failure (avots answering text only) fails the Packer build and publishes nothing', { skip: leaseLimit ? 'the full bake above was such a failure, and was checked' : false }, async t => {
  const root2 = bakeTree(t)
  // The cheaper real-VM path: the image bake's disk as the base (Docker and the pinned image
  // already in it: no install, no pull) and only a gate that must fail and needs no gateway
  // start; the same gates.sh, in-VM suite, verdict.sh and bake verdict code as any bake.
  const fail = await clawbake([
    'bake', '--tag', '2026.9.6', '--rehearsal', '--rehearsal-avots', 'text', '--rehearsal-gates', 'avots-smoke',
    '--base-image', imageFile, '--base-checksum', `sha256:${img.artifact.sha256}`, '--json',
  ], { cwd: root2, env: { ...env, CLAWBAKE_ROOT: root2 } })
  t.equal(fail.code, 1, fail.stderr.slice(-4000))
  const o = fail.json()
  t.equal(o.published, false)
  t.equal(o.error.rule, 'publish.gate-failed')
  t.match(o.error.message, /avots-smoke/)
  t.equal(o.gates?.mode, 'vm', 'the failing report came from inside the VM')
  const smoke = o.gates.gates.find((g: { id: string }) => g.id === 'avots-smoke')
  t.equal(smoke.ok, false)
  t.match(smoke.detail, /non-stream: answered in text, no tool call/)
  t.notOk(existsSync(join(o.rehearsal.root, 'catalog', 'stable.json')), 'nothing published')
  t.match(fail.stderr, /gate verdict: failed/, 'the verdict failed the Packer build')
})
