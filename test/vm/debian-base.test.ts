// THE DEBIAN 13 BASE, for real: built with mmdebstrap from Debian's mirror
// into the repo's ignored cache (or $CLAWBAKE_CACHE/vm), taken from the cache
// the second time, booted under qemu with the accelerator the probe picked
// (TCG on this kind of machine) and a NoCloud seed, and logged into over the
// loopback port forward. The first run builds (about 75 s); later runs reuse
// the image and only boot it (one to two minutes under TCG).
import t, { type Test } from 'tap'

import { createHash } from 'node:crypto'
import { createReadStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import semver from 'semver'
import { metaData, userData, BUILD_USER } from '../../src/bake/seed.ts'
import { run, runOk, startDaemon, tail, type Daemon } from '../../src/proc/run.ts'
import { watchSerial, type GuestPanic } from '../../src/vm/serial-watch.ts'
import { acceleratorArgs, chooseAccelerator, chooseClock, INSTRUCTION_CLOCK_WALL_RATIO, timeoutScale, type TcgClock } from '../../src/vm/accelerator.ts'
import { ensureOpenclaw } from '../../src/openclaw/runtime.ts'
import { buildDebianBase, debianBaseKey, type DebianBase } from '../../src/vm/debian-base.ts'
import { cacheRoot } from '../../src/paths.ts'
import { freePort } from '../support/net.ts'
import { retryUnconnected } from '../../src/boottest/ssh.ts'

t.setTimeout(45 * 60_000)

// the cache the bake itself uses, so the suite builds the base once
const cacheDir = join(cacheRoot(), 'base')
const log = (l: string) => { if (process.env.CLAWBAKE_TEST_VERBOSE) process.stderr.write(`  | ${l}\n`) }

function cannotRun(): string | null {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'building the base needs root (loop devices, mounts)'
  for (const p of ['/usr/bin/mmdebstrap', '/usr/bin/extlinux', '/usr/bin/qemu-system-x86_64', '/usr/bin/qemu-img', '/usr/bin/xorriso']) {
    if (!existsSync(p)) return `${p} is missing: run scripts/setup.sh test`
  }
  return null
}

async function sha256Of(file: string): Promise<string> {
  const h = createHash('sha256')
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer)
  return h.digest('hex')
}

function scratch(t: { teardown(fn: () => void): void }): string {
  const d = mkdtempSync(join(tmpdir(), 'clawbake-vm-'))
  t.teardown(() => rmSync(d, { recursive: true, force: true }))
  return d
}

/** An ext4 disk (read-only in the guest) with Node 24 and OpenClaw 2026.9.6 as npm installs it, and a probe script. */
async function workerDisk(dir: string): Promise<string> {
  const rt = await ensureOpenclaw('2026.9.6')
  const stage = join(dir, 'worker')
  mkdirSync(stage)
  await runOk('cp', ['-a', '--reflink=auto', rt.node, join(stage, 'node')])
  await runOk('cp', ['-al', join(rt.dir, 'node_modules'), join(stage, 'node_modules')])
  // OpenClaw starts this worker with `env: {}`; time to its first event (it errors once loaded: no workerData)
  writeFileSync(join(stage, 'probe.mjs'), [
    "import { Worker } from 'node:worker_threads'",
    "const url = new URL('./node_modules/openclaw/dist/state/openclaw-state-lease-heartbeat.worker.js', import.meta.url)",
    'const t0 = performance.now()',
    'const w = new Worker(url, { env: {} })',
    'let done = false',
    "const end = what => { if (done) return; done = true; console.log(JSON.stringify({ what, ms: Math.round(performance.now() - t0) })); process.exit(0) }",
    "w.once('message', () => end('message'))",
    "w.once('error', e => end('error: ' + String(e && e.message || e).slice(0, 80)))",
    "w.once('exit', c => end('exit ' + c))",
    "setTimeout(() => end('timeout'), 300000)",
    '',
  ].join('\n'))
  const disk = join(dir, 'worker.img')
  await runOk('mke2fs', ['-q', '-t', 'ext4', '-d', stage, disk, '2G'], { timeoutMs: 300_000 })
  rmSync(stage, { recursive: true, force: true })
  return disk
}

/** Mount the worker disk in the guest and time OpenClaw's heartbeat worker there, as the guest's clock sees it. */
async function workerStart(ssh: (command: string, timeoutMs?: number) => Promise<{ code: number | null; stdout: string; stderr: string }>): Promise<{ what: string; ms: number }> {
  const r = await ssh('sudo -n sh -c "mkdir -p /mnt/worker && (mountpoint -q /mnt/worker || mount -o ro /dev/vdb /mnt/worker)" && /mnt/worker/node /mnt/worker/probe.mjs', 600_000)
  try {
    return JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as { what: string; ms: number }
  } catch {
    return { what: `no result (exit ${r.code}): ${tail(r.stdout + r.stderr, 4)}`, ms: -1 }
  }
}

/** The base booted from an overlay with a NoCloud seed and the worker disk, on this accelerator and TCG clock; SSH up. */
async function bootBase(t: Test, b: DebianBase, accelerator: 'kvm' | 'tcg', clock: TcgClock) {
  const dir = scratch(t)
  const key = join(dir, 'id_ed25519')
  await runOk('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'clawbake-vm-test', '-f', key])
  const seed = join(dir, 'seed')
  mkdirSync(seed)
  writeFileSync(join(seed, 'user-data'), userData(readFileSync(`${key}.pub`, 'utf8')))
  writeFileSync(join(seed, 'meta-data'), metaData(`vm-test-${process.pid}`))
  const iso = join(dir, 'seed.iso')
  await runOk('xorriso', ['-as', 'mkisofs', '-quiet', '-V', 'cidata', '-J', '-r', '-o', iso, join(seed, 'user-data'), join(seed, 'meta-data')])
  const overlay = join(dir, 'overlay.qcow2')
  await runOk('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', b.qcow2, '-F', 'qcow2', overlay, '8G'])
  const worker = await workerDisk(dir)

  const port = await freePort()
  const serial = join(dir, 'serial.log')
  const t0 = performance.now()
  const vm: Daemon = startDaemon('qemu-system-x86_64', [
    ...acceleratorArgs(accelerator, process.env, clock), '-smp', '2', '-m', '2048',
    '-nodefaults', '-no-user-config', '-display', 'none', '-monitor', 'none',
    '-serial', `file:${serial}`,
    '-drive', `file=${overlay},if=virtio,format=qcow2`,
    '-drive', `file=${worker},if=virtio,format=raw,readonly=on`,
    '-drive', `file=${iso},media=cdrom,readonly=on`,
    // restrict=on: the guest reaches nothing beyond qemu's own DHCP; only the loopback SSH forward gets in
    '-netdev', `user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:${port}-:22`, '-device', 'virtio-net-pci,netdev=n0',
  ])
  t.teardown(() => vm.stop(10_000))
  const serialTail = () => (existsSync(serial) ? tail(readFileSync(serial, 'utf8').replace(/\x1b\[[0-9;]*m/g, ''), 8) : 'no serial output')
  const once = (command: string, timeoutMs: number) => run('ssh', [
    '-p', String(port), '-i', key, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes',
    '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', 'ConnectTimeout=15',
    `${BUILD_USER}@127.0.0.1`, command,
  ], { timeoutMs })
  // host-side waits: the accelerator's scale, times the instruction clock's measured wall-time ratio
  const scale = timeoutScale(accelerator) * (clock === 'instructions' ? INSTRUCTION_CLOCK_WALL_RATIO : 1)
  // cloud-init restarts sshd once more after it first answers: a connection reset before the command ran is retried
  const ssh = (command: string, timeoutMs = 20_000 * scale) => retryUnconnected(() => once(command, timeoutMs))
  // boot to SSH: 50-110 s under TCG per the facts sheet; give it 40 s x the scale
  const deadline = Date.now() + 40_000 * scale
  let up = false
  while (!up && Date.now() < deadline) {
    if (!vm.running()) break
    const r = await ssh('true', 30_000)
    up = r.code === 0
    if (!up) await new Promise(res => setTimeout(res, 3000))
  }
  const bootMs = Math.round(performance.now() - t0)
  t.ok(up, `SSH on 127.0.0.1:${port} answered (${(bootMs / 1000).toFixed(0)} s, clock ${clock})`, { diagnostic: !up, serial: serialTail(), qemu: vm.output().slice(-2000) })
  if (up) t.comment(`boot to SSH (${clock} clock): ${(bootMs / 1000).toFixed(1)} s`)
  return { vm, ssh, serial, up, t0, bootMs }
}

let built: Promise<DebianBase> | undefined
const base = () => (built ??= buildDebianBase({ cacheDir, log }))

const skip = cannotRun()
if (skip) {
  t.test('Debian 13 base: build, cache, boot', { skip }, async () => {})
} else {
  t.test('builds the Debian 13 base once, then takes it from the cache', async t => {
    t.setTimeout(30 * 60_000)
    const first = await base()
    t.comment(`first call: ${first.cached ? 'cache hit' : 'built'} in ${(first.ms / 1000).toFixed(1)} s`)
    t.match(first.qcow2, new RegExp(`/debian-13-${debianBaseKey().slice(0, 12)}\\.qcow2$`), 'named by the hash of its inputs')
    t.equal(await sha256Of(first.qcow2), first.sha256, 'the sha256 is the qcow2 file\'s')
    t.match(readFileSync(`${first.qcow2}.sha256`, 'utf8'), new RegExp(`^${first.sha256}  debian-13-[0-9a-f]{12}\\.qcow2\\n$`), 'a sha256sum-style .sha256 file next to it')
    const info = JSON.parse((await runOk('qemu-img', ['info', '--output=json', first.qcow2])).stdout) as { format: string; 'virtual-size': number }
    t.equal(info.format, 'qcow2', 'a qcow2 image')
    t.equal(info['virtual-size'], 4 * 1024 ** 3, '4 GiB virtual')
    t.ok(readFileSync(first.kernel).subarray(0x202, 0x206).toString('latin1') === 'HdrS', 'the exported kernel is a bzImage')
    t.ok(readFileSync(first.initrd).length > 1_000_000, 'the exported initrd is there')
    t.same(readdirSync(cacheDir).filter(f => f.startsWith('.build-')), [], 'no half-built work directory left behind')
    t.equal((await run('losetup', ['-a'])).stdout.includes(cacheDir), false, 'no loop device left attached')

    const second = await buildDebianBase({ cacheDir, log })
    t.equal(second.cached, true, 'the second call is a cache hit')
    t.equal(second.sha256, first.sha256, 'with the same sha256')
    t.equal(second.qcow2, first.qcow2, 'and the same file')
    t.ok(second.ms < 2000, `and immediate (${second.ms} ms)`)
  })

  t.test('chooseAccelerator boots a real guest kernel under KVM and says why it picked what it picked', async t => {
    const { kernel } = await base()
    const choice = await chooseAccelerator({ kernel, log })
    t.comment(`${choice.accelerator}: ${choice.why} (${choice.ms} ms)`)
    const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8')
    const hardwareVirt = /^flags\s*:.*\b(vmx|svm)\b/m.test(cpuinfo)
    if (existsSync('/dev/kvm') && !hardwareVirt) {
      // this machine: a /dev/kvm that opens, on a CPU without vmx/svm (nested PVM)
      t.equal(choice.accelerator, 'tcg', 'an openable /dev/kvm that cannot run a stock kernel means TCG')
      t.match(choice.why, /^kvm: (failed to set MSR|KVM internal error|emulation failure|the guest|qemu exited)/, 'the reason is what qemu did, not that /dev/kvm is missing')
    } else if (choice.accelerator === 'kvm') {
      t.equal(choice.why, 'kvm: guest kernel booted', 'KVM only once a guest kernel booted')
    } else {
      t.match(choice.why, /^kvm: /, 'TCG, with what KVM did')
    }
    t.same(acceleratorArgs(choice.accelerator), choice.accelerator === 'tcg' ? ['-accel', 'tcg,thread=multi', '-cpu', 'max'] : ['-accel', 'kvm', '-cpu', 'host'], 'the qemu arguments for the choice')

    const none = await chooseAccelerator({ kernel, kvmDevice: join(scratch(t), 'no-kvm') })
    t.equal(none.accelerator, 'tcg', 'no /dev/kvm: TCG')
    t.match(none.why, /^kvm: no \/.*no-kvm$/, 'and it says so')
    t.equal(timeoutScale('kvm'), 1, 'KVM timeouts are not scaled')
    t.ok(timeoutScale('tcg') >= 10, 'TCG timeouts are scaled up')
  })

  t.test('a guest kernel that panics is seen on its serial console at once, in the kernel\'s own words', async t => {
    // the base's real kernel with no root disk: it panics ("VFS: Unable to mount root fs"), and qemu stays up
    const { kernel } = await base()
    const dir = scratch(t)
    const serial = join(dir, 'serial.log')
    const vm = startDaemon('qemu-system-x86_64', [
      ...acceleratorArgs('tcg'), '-smp', '1', '-m', '512', '-nodefaults', '-display', 'none', '-no-reboot',
      '-kernel', kernel, '-append', 'console=ttyS0 root=/dev/vdz panic=0 rootwait=0', '-serial', `file:${serial}`,
    ])
    t.teardown(() => vm.stop(1000))
    const t0 = Date.now()
    const seen = await new Promise<GuestPanic | null>(resolve => {
      const w = watchSerial(serial, p => resolve(p), 500)
      setTimeout(() => { w.stop(); resolve(null) }, 180_000).unref()
    })
    t.ok(seen, `the panic was seen (${((Date.now() - t0) / 1000).toFixed(1)} s after qemu started)`)
    t.match(seen?.reason, /^Kernel panic - not syncing: VFS: Unable to mount root fs/)
    t.ok(vm.running(), 'qemu itself is still running: only the console tells')
  })

  t.test('boots with a NoCloud seed: cloud-init done, root grown, Docker Compose v2 and nftables there', async t => {
    t.setTimeout(20 * 60_000)
    const b = await base()
    const { accelerator, why } = await chooseAccelerator({ kernel: b.kernel, log })
    t.comment(`accelerator ${accelerator} (${why})`)
    const { vm, ssh, serial, up, t0 } = await bootBase(t, b, accelerator, 'real')
    if (!up) return

    const status = await ssh('cloud-init status --wait')
    t.match(status.stdout, /status: done/, 'cloud-init finished')
    t.equal(status.code, 0, `and without errors or warnings (exit ${status.code}): ${tail(status.stdout + status.stderr, 4)}`)
    const t1 = performance.now()
    t.comment(`boot to cloud-init done: ${((t1 - t0) / 1000).toFixed(1)} s`)

    const compose = await ssh('docker compose version')
    t.equal(compose.code, 0, `docker compose version: ${compose.stdout.trim() || compose.stderr.trim()}`)
    const v = semver.coerce(/version v?(\S+)/.exec(compose.stdout)?.[1] ?? '')
    t.ok(v && semver.gte(v, '2.24.4'), `Compose v2 >= 2.24.4 (${v?.version ?? 'none'})`)

    const nft = await ssh('/usr/sbin/nft --version')
    t.match(nft.stdout, /^nftables v\d+\.\d+/, 'nft runs')

    const df = await ssh('df -B1 --output=size / | tail -n1')
    const rootBytes = Number(df.stdout.trim())
    t.ok(rootBytes > 6 * 1024 ** 3, `cloud-init grew the root file system to the 8G disk (${(rootBytes / 1024 ** 3).toFixed(1)} GiB)`)

    const who = await ssh('id -un; sudo -n true && echo sudo-ok; test -s /etc/machine-id && echo machine-id-ok; ls /etc/ssh/ssh_host_ed25519_key')
    t.match(who.stdout, new RegExp(`^${BUILD_USER}\\nsudo-ok\\nmachine-id-ok\\n/etc/ssh/ssh_host_ed25519_key\\n$`), 'the seed user has sudo; machine-id and host keys were made at first boot')

    // OpenClaw 2026.9.6's heartbeat worker on the real-time clock: reported, not asserted (it is what misses the 5 s)
    if (accelerator === 'tcg') {
      const w = await workerStart(ssh)
      t.ok(w.ms > 0, `the worker ran in the guest: ${w.what}`)
      t.comment(`OpenClaw 2026.9.6 heartbeat worker, TCG real-time clock: ${w.ms} ms of guest time to its first event (${w.what}); OpenClaw gives it 5000 ms`)
    }

    const serialLog = readFileSync(serial, 'utf8')
    t.match(serialLog, /Linux version/, 'the serial log shows the kernel')
    t.match(serialLog, /cloud-init\[\d+\]: Cloud-init v\. \S+ finished/, 'and cloud-init (ttyS0 is /dev/console)')

    await vm.stop(10_000)
    t.equal(vm.running(), false, 'the VM is stopped by its PID')
  })
  t.test('the instruction clock: OpenClaw 2026.9.6\'s heartbeat worker starts well inside its fixed 5 s, as the guest sees it', async t => {
    t.setTimeout(30 * 60_000)
    const b = await base()
    const { accelerator } = await chooseAccelerator({ kernel: b.kernel, log })
    if (accelerator === 'kvm') {
      t.comment('KVM: the instruction clock is never used with it (a real accelerator is not slowed)')
      t.throws(() => chooseClock('kvm', { CLAWBAKE_TCG_CLOCK: 'instructions' }, null), { name: 'ClawbakeError', exitCode: 2 } as never)
      return
    }
    const wall0 = performance.now()
    const { vm, ssh, up } = await bootBase(t, b, 'tcg', 'instructions')
    if (!up) return
    const runs: { what: string; ms: number }[] = []
    for (let i = 0; i < 2; i++) runs.push(await workerStart(ssh))
    for (const w of runs) {
      t.match(w.what, /^error: /, `the worker loaded and ran to its first line (${w.what})`)
      t.ok(w.ms > 0 && w.ms < 3_500, `guest time ${w.ms} ms: well inside OpenClaw's 5000 ms`)
    }
    t.comment(`OpenClaw 2026.9.6 heartbeat worker, TCG instruction clock (-icount shift=0,sleep=on): ${runs.map(w => `${w.ms} ms`).join(', ')} of guest time; this boot and runs took ${((performance.now() - wall0) / 1000).toFixed(0)} s of wall time`)
    await vm.stop(10_000)
  })
}
