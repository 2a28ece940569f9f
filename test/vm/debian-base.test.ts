// THE DEBIAN 13 BASE, for real: built with mmdebstrap from Debian's mirror
// into the repo's ignored cache (or $CLAWBAKE_CACHE/vm), taken from the cache
// the second time, booted under qemu with the accelerator the probe picked
// (TCG on this kind of machine) and a NoCloud seed, and logged into over the
// loopback port forward. The first run builds (about 75 s); later runs reuse
// the image and only boot it (one to two minutes under TCG).
import t from 'tap'
import { createHash } from 'node:crypto'
import { createReadStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import semver from 'semver'
import { metaData, userData, BUILD_USER } from '../../src/bake/seed.ts'
import { run, runOk, startDaemon, tail, type Daemon } from '../../src/proc/run.ts'
import { acceleratorArgs, chooseAccelerator, timeoutScale } from '../../src/vm/accelerator.ts'
import { buildDebianBase, debianBaseKey, type DebianBase } from '../../src/vm/debian-base.ts'
import { cacheRoot } from '../../src/paths.ts'
import { freePort } from '../support/net.ts'
import { REPO } from '../support/tree.ts'
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

  t.test('boots with a NoCloud seed: cloud-init done, root grown, Docker Compose v2 and nftables there', async t => {
    t.setTimeout(20 * 60_000)
    const b = await base()
    const { accelerator, why } = await chooseAccelerator({ kernel: b.kernel, log })
    t.comment(`accelerator ${accelerator} (${why})`)
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

    const port = await freePort()
    const serial = join(dir, 'serial.log')
    const t0 = performance.now()
    const vm: Daemon = startDaemon('qemu-system-x86_64', [
      ...acceleratorArgs(accelerator), '-smp', '2', '-m', '2048',
      '-nodefaults', '-no-user-config', '-display', 'none', '-monitor', 'none',
      '-serial', `file:${serial}`,
      '-drive', `file=${overlay},if=virtio,format=qcow2`,
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
    // cloud-init restarts sshd once more after it first answers: a connection reset before the command ran is retried
    const ssh = (command: string, timeoutMs = 20_000 * timeoutScale(accelerator)) => retryUnconnected(() => once(command, timeoutMs))

    // boot to SSH: 50-110 s under TCG per the facts sheet; give it 40 s x the accelerator's scale
    const deadline = Date.now() + 40_000 * timeoutScale(accelerator)
    let up = false
    while (!up && Date.now() < deadline) {
      if (!vm.running()) break
      const r = await ssh('true', 30_000)
      up = r.code === 0
      if (!up) await new Promise(res => setTimeout(res, 3000))
    }
    const bootMs = Math.round(performance.now() - t0)
    if (!t.ok(up, `SSH on 127.0.0.1:${port} answered (${(bootMs / 1000).toFixed(0)} s)`, { diagnostic: !up, serial: serialTail(), qemu: vm.output().slice(-2000) })) return
    t.comment(`boot to SSH: ${(bootMs / 1000).toFixed(1)} s`)

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

    const serialLog = readFileSync(serial, 'utf8')
    t.match(serialLog, /Linux version/, 'the serial log shows the kernel')
    t.match(serialLog, /cloud-init\[\d+\]: Cloud-init v\. \S+ finished/, 'and cloud-init (ttyS0 is /dev/console)')

    await vm.stop(10_000)
    t.equal(vm.running(), false, 'the VM is stopped by its PID')
  })
}
