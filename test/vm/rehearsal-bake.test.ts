// THE WHOLE LINE, offline, on every run: `clawbake bake --tag 2026.7.35
// --rehearsal` as a user types it. 2026.7.35 is the extended-stable release
// `watch` selects for that channel; its OpenClaw starts under software
// emulation (it has no fixed 5 s state-lease start). Real Packer (Debian
// 1.6.6) drives real qemu (TCG here: this machine's KVM cannot run stock
// guests) booting a Debian 13 cloud base built from Debian's packages; the VM
// pulls an OpenClaw image built from npm by the production reference
// ghcr.io/openclaw/openclaw:<tag>@sha256:<digest> (a real docker-registry on
// loopback, served as ghcr.io over TLS through qemu's guestfwd); every gate
// runs INSIDE the VM against the shipped compose stack, first-boot path and
// socket-activated sandbox; the captured disk's free space is zeroed and the
// disk inspected; the image is booted twice as a client's VM (the boot test,
// on by default for qemu); then it publishes into a scratch catalog and the
// loopback image store, and the channel moves.
//
// One real bake, run before any assertion (tap takes no subtest after a long
// wait), shared by every assertion that can use it. A test that cannot reach
// its assertions fails: no skip on any machine of this kind.
import t from 'tap'
import { createHash, randomBytes } from 'node:crypto'
import { createReadStream, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { BIN, clawbake } from '../support/cli.ts'
import { bakeTree } from '../bake/helpers.ts'
import { run, runOk, startDaemon } from '../../src/proc/run.ts'
import { searchFile } from '../../src/bake/inspect.ts'
import { GATE_IDS } from '../../src/gates/gate.ts'
import { bootChecksFor, bootTimeouts, runBootTest } from '../../src/boottest/boot-test.ts'
import { startAvotsStandin } from '../../src/standins/avots.ts'
import { startRegistry } from '../../src/rehearsal/registry.ts'

t.setTimeout(4_200_000)

const TAG = '2026.7.35'
const CHANNEL = 'extended-stable'
const RELEASED_AT = '2026-11-28T10:00:00Z'

async function sha256(file: string): Promise<string> {
  const h = createHash('sha256')
  for await (const c of createReadStream(file)) h.update(c as Buffer)
  return h.digest('hex')
}

const avotsKey = `sk-avots-vmtest-${randomBytes(18).toString('hex')}`
// planted by the rehearsal before the scrub in a deleted file, the journal, a container's log and layer
const marker = `clawbake-planted-vmtest-${randomBytes(16).toString('hex')}`
const env = { AVOTS_API_KEY: avotsKey, GITHUB_API_URL: 'http://127.0.0.1:9' }
type Gate = { id: string; ok: boolean; detail: string; ms: number }
const secs = (ms: number) => `${Math.round(ms / 1000)} s`

// ---- the one full bake: every gate in the VM, the inspection, the boot test, publish
const root = bakeTree(t)
let t0 = Date.now()
const bake = await clawbake(['bake', '--tag', TAG, '--rehearsal', '--released-at', RELEASED_AT, '--json'], { cwd: root, env: { ...env, CLAWBAKE_ROOT: root, CLAWBAKE_REHEARSAL_MARKER: marker } })
const bakeMs = Date.now() - t0
t.comment(`full bake of ${TAG}: exit ${bake.code} in ${secs(bakeMs)}`)
const out = bake.code === 0 || bake.code === 1 ? bake.json() : null
for (const s of out?.stages ?? []) t.comment(`  stage ${String(s.stage).padEnd(10)} ${secs(s.ms).padStart(7)}`)
const tree = out?.rehearsal?.root as string
const entry = tree && existsSync(join(tree, 'catalog', `${CHANNEL}.json`)) ? JSON.parse(readFileSync(join(tree, 'catalog', `${CHANNEL}.json`), 'utf8')).entries.at(-1) : null
const imageFile = entry ? join(tree, entry.artifact.id) : ''
const accelerator = /accelerator (kvm|tcg)/.exec(out?.stages?.find((x: { stage: string }) => x.stage === 'prepare')?.detail ?? '')?.[1] as 'kvm' | 'tcg' | undefined
const evidence = `exit ${bake.code}: ${out?.error?.message ?? ''}\n${bake.stderr.slice(-8000)}`

t.test('the full bake publishes, from a VM, into its scratch catalog, and moves the channel', async t => {
  t.equal(bake.code, 0, `bake exit 0\n${evidence}`)
  t.equal(out?.published, true, 'published')
  t.equal(out?.builder, 'qemu')
  t.ok(tree?.startsWith(join(root, '.clawbake', 'rehearsal')), 'the scratch tree is under the run state, not the checkout')
  t.ok(entry, `catalog/${CHANNEL}.json has the entry`)
  const pin = JSON.parse(readFileSync(join(tree, 'pins.lock.json'), 'utf8'))
  t.equal(pin.tag, TAG)
  t.equal(out.digest, pin.digest, 'baked what it pinned')
  t.equal(entry.digest, pin.digest, 'catalog digest == pin')
  t.ok(existsSync(imageFile), `the qcow2 is there: ${imageFile}`)
  t.equal(entry.artifact.sha256, await sha256(imageFile), 'catalog sha256 == the qcow2 file (the one written after the free space was zeroed)')
  t.match(entry.store?.reference, new RegExp(`^127\\.0\\.0\\.1:\\d+/clawbake-images:${TAG.replace(/\./g, '\\.')}-`), 'pushed to the image store')
  t.equal(entry.store?.sha256, entry.artifact.sha256, 'the stored disk is the qcow2')
  t.equal(entry.held, undefined, 'not held: the boot test passed, so the channel moved')
  const catalog = JSON.parse(readFileSync(join(tree, 'catalog', `${CHANNEL}.json`), 'utf8'))
  t.equal(catalog.events?.at(-1)?.action, 'publish', 'the channel move is recorded')
  t.equal(catalog.events?.at(-1)?.entry, catalog.entries.length - 1)
  t.equal(entry.bootTest?.report?.ok, true, 'the entry carries the passed boot test')
  t.same(entry.bootTest.report.gates.map((g: Gate) => g.id), bootChecksFor({}))
  t.same(out.stages.map((s: { stage: string }) => s.stage).filter((s: string) => ['build', 'gates', 'inspect', 'boot-test', 'publish'].includes(s)), ['build', 'gates', 'inspect', 'boot-test', 'publish'], 'gates, inspection and boot test came before publish')
  t.match(bake.stderr, /inspect +free space zeroed: \d+ of \d+ free blocks held data/, 'the free space was zeroed before the inspection')
  t.match(out.stages.find((s: { stage: string }) => s.stage === 'inspect')?.detail, /^clean: /, 'the disk was inspected before publishing')
})

t.test('the gate report was made inside the VM and every gate passed', async t => {
  const gates = out?.gates
  t.equal(gates?.mode, 'vm', evidence)
  t.same(gates?.gates?.map((g: Gate) => g.id), [...GATE_IDS])
  for (const g of gates?.gates ?? []) t.ok(g.ok, `${g.id} (${secs(g.ms)}): ${g.detail}`)
  for (const g of gates?.gates ?? []) t.comment(`  gate ${g.id.padEnd(18)} ${secs(g.ms).padStart(7)}`)
  const clock = /, clock (real|instructions) /.exec(out?.stages?.find((x: { stage: string }) => x.stage === 'prepare')?.detail ?? '')?.[1]
  t.equal(gates?.host?.guestClock, accelerator === 'kvm' ? 'kvm' : `tcg-${clock}`, 'the report says which clock the gates timed themselves on')
  for (const g of gates?.gates ?? []) t.ok(g.hostAt && g.hostAt >= gates.host.startedAt && g.hostAt <= gates.host.finishedAt && gates.host.finishedAt <= entry?.publishedAt, `${g.id}: result reached the host at ${g.hostAt}, inside the run and before publish`)
  const byId = Object.fromEntries((gates?.gates ?? []).map((g: Gate) => [g.id, g.detail]))
  t.match(byId['owner-exec'], /written to \/srv\/openclaw-sandbox\/owner-exec-[0-9a-f]+\.txt by sandbox/, 'the nonce file was made by the shipped sandbox user')
  t.match(byId['owner-exec'], /state dir \/opt\/openclaw\/state/, 'against the shipped layout')
  t.match(byId['admin-tunnel'], /127\.0\.0\.1:18789\/healthz ok/)
  t.match(byId['admin-tunnel'], /without token 40[13]/)
  t.match(byId['admin-tunnel'], /Docker publishes only on 127\.0\.0\.1/)
  t.match(byId['stranger-refused'], /no model call/)
})

t.test('the boot test: the captured image booted as a client\'s VM, upgraded onto a new root with its state disk, rolled back, and booted for another client; every check passed', async t => {
  const r = out?.bootTest
  t.equal(r?.ok, true, `boot test passed\n${evidence}`)
  t.equal(r?.mode, 'boot')
  t.equal(r?.openclawVersion, TAG)
  t.same(r?.gates?.map((g: Gate) => g.id), bootChecksFor({}), 'every check, the rollback and the second client included')
  for (const g of r?.gates ?? []) t.ok(g.ok, `${g.id} (${secs(g.ms)}): ${g.detail}`)
  for (const x of r?.timings ?? []) t.comment(`  boot ${String(x.stage).padEnd(28)} ${secs(x.ms).padStart(7)}`)
  t.comment(`  boot test wall time ${secs(r?.wallMs ?? 0)}`)
  const byId = Object.fromEntries((r?.gates ?? []).map((g: Gate) => [g.id, g.detail]))
  t.match(byId.stack, new RegExp(`openclaw-gateway runs ghcr\\.io/openclaw/openclaw:${TAG.replace(/\./g, '\\.')}@sha256:`), 'the pinned image, from the image')
  t.match(byId.stack, /no image pull since docker\.service started/)
  t.match(byId['admin-tunnel'], /healthz ok/)
  t.match(byId.egress, /the forbidden stand-in recorded no connection/)
  t.match(byId.egress, /refused_\w+ [1-9]\d*/, 'the allowlist\'s own counters counted the refusals')
  t.match(byId['client-secrets'], /openclaw-forget-user-data\.service ran \(forget-user-data: removed/, 'the unit ran and said what it removed')
  t.match(byId['second-boot'], /the first owner \d+ DMs it: .*no model call/)
  t.match(byId['state-disk'], /\/opt\/openclaw\/state is \/dev\/vd[a-z]\[\/openclaw\] and \/srv\/openclaw-sandbox is \/dev\/vd[a-z]\[\/sandbox-home\]/, 'the state and the sandbox home are on the client\'s disk')
  t.match(byId['state-disk'], new RegExp(`recorded for owner \\d+, OpenClaw ${TAG.replace(/\./g, '\\.')}`))
  t.match(byId.upgrade, new RegExp(`first boot adopted owner \\d+'s state from OpenClaw ${TAG.replace(/\./g, '\\.')}`), 'the new root adopted the first client\'s state')
  t.match(byId.upgrade, /the state from before is saved \(pre-upgrade\//)
  t.match(byId.upgrade, /all [1-9]\d* files of the state kept/)
  t.match(byId.upgrade, /the same secrets and gateway token/)
  t.match(byId.upgrade, /the earlier proof file \/srv\/openclaw-sandbox\/owner-exec-[0-9a-f]+\.txt is still there/)
  t.match(byId.upgrade, /the earlier session is kept \(agents\//)
  t.match(byId.upgrade, /the owner is answered after the upgrade: .*value [0-9a-f]{24} made and written to/, 'a tool ran in the sandbox for the same owner')
  t.match(byId.rollback, /^state-disk: the state of OpenClaw \S+ is back \(from \/var\/lib\/openclaw-state\/pre-upgrade\//, 'state-disk.sh rollback put the saved copy back')
  t.match(byId.rollback, new RegExp(`first boot took owner \\d+'s state of OpenClaw ${TAG.replace(/\./g, '\\.')}, as saved before the upgrade`))
  t.match(byId.rollback, /the turn made after the upgrade is only in rolled-back\/\d{8}T\d{6}Z/, 'what the upgraded image added is kept aside, not running')
  t.match(byId.rollback, /the session from before the upgrade is there/)
  t.match(byId.rollback, /the owner is answered after the rollback: .*value [0-9a-f]{24} made and written to/, 'the image starts again on the rolled-back state and runs a tool for the owner')
  t.ok(existsSync(join(out.runDir, 'boot-test', 'boot-test-report.json')), 'the boot test\'s report is kept in the run directory')
})

t.test('the published image from the store: `clawbake image pull` of the channel returns the same bytes', async t => {
  t.ok(entry?.store, 'the entry was pushed')
  // the rehearsal's registry storage is kept beside its scratch tree; serve it again and pull through it
  const reg = await startRegistry({ storage: join(dirname(tree), 'registry') })
  t.teardown(() => reg.stop())
  const dir = mkdtempSync(join(tmpdir(), 'clawbake-pull-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const pulled = join(dir, 'golden.qcow2')
  const p = await clawbake(['image', 'pull', CHANNEL, '--from', `${reg.host}/clawbake-images`, '--out', pulled, '--json'], { cwd: tree, env })
  t.equal(p.code, 0, p.stderr.slice(-3000))
  t.equal(p.json().manifestDigest, entry.store.manifestDigest, 'the channel\'s image, by digest')
  t.equal(await sha256(pulled), entry.artifact.sha256, 'the same bytes as the baked qcow2')
})

t.test('the build VM recorded its identity before the scrub (what a client VM must not share)', async t => {
  const id = JSON.parse(readFileSync(join(out.runDir as string, 'build-identity.json'), 'utf8'))
  t.match(id.machineId, /^[0-9a-f]{32}$/)
  t.ok(id.hostKeys.length >= 1 && id.hostKeys.every((k: string) => /^SHA256:[A-Za-z0-9+/]+$/.test(k)), `host key fingerprints: ${id.hostKeys.join(', ')}`)
  t.same(entry?.buildVm?.machineId, id.machineId, 'recorded in the catalog entry')
})

t.test('the captured disk: no secret in its raw bytes, no build leftover', async t => {
  // an independent search, with the key this test chose; the gate run wrote it into state/.env, which the scrub deleted
  const dir = mkdtempSync(join(tmpdir(), 'clawbake-vmdisk-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const raw = join(dir, 'disk.raw')
  await runOk('qemu-img', ['convert', '-O', 'raw', imageFile, raw], { timeoutMs: 900_000 })
  const r = searchFile(raw, [{ name: 'avots key', value: avotsKey }, { name: 'planted marker', value: marker }])
  t.same(r.hits, [], `the avots key and the planted marker are nowhere in ${r.bytes} bytes`)
  t.match(bake.stderr, /marker planted in a deleted file, the journal, a container's log and its writable layer/, 'the marker was planted before the scrub')
  t.ok(inspectionChecked().some(c => /the planted marker/.test(c)), 'the bake\'s own inspection searched for it too')
  t.ok(r.bytes > 4 * 2 ** 30, 'the whole disk')
  const inspection = JSON.parse(readFileSync(join(out.runDir as string, 'inspection.json'), 'utf8'))
  t.equal(inspection.ok, true, inspection.findings.join('; '))
  t.same(inspection.findings, [])
  for (const p of ['/home/clawbake', '/etc/docker/certs.d/ghcr.io', '/srv/openclaw-sandbox', '/etc/ssh/ssh_host_ed25519_key', '/etc/machine-id', '/etc/hosts', '/etc/passwd']) t.ok(inspection.checked.includes(p), `checked ${p}`)
  t.notOk(bake.stderr.includes(avotsKey) || bake.stdout.includes(avotsKey), 'the key is in no output')
  t.notOk(bake.stderr.includes(marker) || bake.stdout.includes(marker), 'nor the marker')
})

function inspectionChecked(): string[] {
  return JSON.parse(readFileSync(join(out.runDir as string, 'inspection.json'), 'utf8')).checked as string[]
}

t.test('a first boot that cannot start the stack (no avots key) fails the boot test, with cloud-init\'s and the unit\'s account', async t => {
  t.ok(accelerator, 'the bake said which accelerator it used')
  const avots = await startAvotsStandin({ mode: 'tool', apiKey: avotsKey })
  t.teardown(() => avots.close())
  const dir = mkdtempSync(join(tmpdir(), 'clawbake-boot-fail-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  // the user-data `clawbake user-data` made, with the avots key taken out: what first-boot.sh refuses
  const report = await runBootTest({
    image: imageFile, pinnedRef: `ghcr.io/openclaw/openclaw:${TAG}@${entry?.digest}`, openclawVersion: TAG, root: tree, dir,
    accelerator: accelerator as 'kvm' | 'tcg', avotsUpstream: avots.baseUrl, avotsApiKey: avotsKey, buildIdentity: entry?.buildVm ?? null, secondBoot: false,
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
})

t.test('a client VM whose kernel panics fails the boot test at once, in the kernel\'s own words, and no VM is left', async t => {
  const avots = await startAvotsStandin({ mode: 'tool', apiKey: avotsKey })
  t.teardown(() => avots.close())
  const dir = mkdtempSync(join(tmpdir(), 'clawbake-boot-panic-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const t1 = Date.now()
  // the user-data `clawbake user-data` made, plus a bootcmd that crashes the kernel (sysrq), early in the first boot
  const report = await runBootTest({
    image: imageFile, pinnedRef: `ghcr.io/openclaw/openclaw:${TAG}@${entry?.digest}`, openclawVersion: TAG, root: tree, dir,
    accelerator: accelerator as 'kvm' | 'tcg', avotsUpstream: avots.baseUrl, avotsApiKey: avotsKey, buildIdentity: entry?.buildVm ?? null, secondBoot: false,
    editUserData: text => text.replace(/^#cloud-config\n/, '#cloud-config\nbootcmd:\n  - [sh, -c, "echo c > /proc/sysrq-trigger"]\n'),
    ...bootTimeouts(accelerator as 'kvm' | 'tcg'), log: l => t.comment(l),
  })
  const took = Date.now() - t1
  t.equal(report.ok, false)
  const ci = report.gates.find(g => g.id === 'cloud-init')!
  t.match(ci.detail, /^boot 1: the guest kernel panicked \(Kernel panic - not syncing: sysrq triggered crash\); serial console \(.*serial\.log\): /, 'the check that was waiting names the panic')
  t.match(ci.detail, /sysrq: Trigger a crash/, 'with the kernel\'s own account')
  t.ok(took < 10 * 60_000, `stopped at once, not at the SSH or cloud-init timeout (${Math.round(took / 1000)} s)`)
  t.notOk((await run('pgrep', ['-f', join(dir, 'boot-1')])).stdout.trim(), 'its qemu was stopped')
})

t.test('a real in-VM failure (avots answering text only) fails owner-exec, fails the Packer build and publishes nothing', async t => {
  const root2 = bakeTree(t)
  // The published image as the base (Docker and the pinned image already in it: no install, no pull) and only
  // the gate that must fail; the same gates.sh, in-VM suite, verdict.sh and bake verdict code as any bake.
  t0 = Date.now()
  const fail = await clawbake([
    'bake', '--tag', TAG, '--rehearsal', '--released-at', RELEASED_AT, '--rehearsal-avots', 'text', '--rehearsal-gates', 'owner-exec',
    '--base-image', imageFile, '--base-checksum', `sha256:${entry?.artifact?.sha256}`, '--json',
  ], { cwd: root2, env: { ...env, CLAWBAKE_ROOT: root2 } })
  t.comment(`text-only bake: exit ${fail.code} in ${secs(Date.now() - t0)}`)
  t.equal(fail.code, 1, fail.stderr.slice(-4000))
  const o = fail.json()
  t.equal(o.published, false)
  t.equal(o.error.rule, 'publish.gate-failed')
  t.match(o.error.message, /owner-exec/)
  t.equal(o.gates?.mode, 'vm', 'the failing report came from inside the VM')
  const g = o.gates.gates.find((x: Gate) => x.id === 'owner-exec')
  t.equal(g.ok, false)
  t.match(g.detail, /no exec|no tool call|never ran|answered in text/i, 'it says the tool never ran')
  t.notOk(existsSync(join(o.rehearsal.root, 'catalog', `${CHANNEL}.json`)), 'nothing published')
  t.match(fail.stderr, /gate verdict: failed/, 'the verdict failed the Packer build')
})

t.test('Ctrl-C while the VM boots leaves no qemu, registry or stand-in running, and no lock', async t => {
  const root3 = bakeTree(t)
  const registries = async () => (await run('pgrep', ['-c', '-x', 'docker-registry'])).stdout.trim()
  const registriesBefore = await registries()
  let sawBoot = false
  let pid = 0
  const waited = new Promise<void>(resolve => {
    const d = startDaemon(process.execPath, [BIN, 'bake', '--tag', TAG, '--rehearsal', '--released-at', RELEASED_AT, '--json'], {
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
  t.notOk(existsSync(join(root3, '.clawbake', 'rehearsal', trees[0] as string, 'tree', 'catalog', `${CHANNEL}.json`)), 'nothing published')
})
