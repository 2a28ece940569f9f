// The boot test's parts that need no VM: the command's refusals (before
// anything boots or is written), the metadata a cloud would hand out, the
// identity comparison, and reading `ss` the way the admin-tunnel gate does.
import t from 'tap'
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'yaml'
import { clawbake } from '../support/cli.ts'
import { tempTree } from '../support/tree.ts'
import { asSeenByGuest, metaData } from '../../src/boottest/vm.ts'
import { SSH_NOT_CONNECTED } from '../../src/boottest/ssh.ts'
import { cloudInitDone, freshIdentity } from '../../src/boottest/checks.ts'
import { BOOT_CHECKS, bootChecksFor, bootTimeouts, failedChecks } from '../../src/boottest/boot-test.ts'
import { allowedExposure, parseSs } from '../../src/gates/admin-tunnel.ts'

t.test('boot-test refuses bad input with one clear error, boots nothing and writes nothing', async t => {
  const root = tempTree(t)
  const image = join(root, 'image.qcow2')
  writeFileSync(image, 'not really a disk')
  const cases: [string[], Record<string, string>, number, RegExp][] = [
    [[], {}, 2, /expected 1 argument/],
    [[join(root, 'missing.qcow2')], {}, 2, /missing\.qcow2: \[boot-test\.image-missing\] the image \S+ does not exist/],
    [[image], { AVOTS_API_KEY: '' }, 2, /AVOTS_API_KEY: \[env\.avots-key-missing\]/],
    [[image, '--build-identity', join(root, 'none.json')], { AVOTS_API_KEY: 'sk-avots-test-0123456789abcdef' }, 2, /none\.json: \[boot-test\.identity-invalid\]/],
    [[image, '--bogus'], {}, 2, /Unknown option '--bogus'/],
  ]
  for (const [args, env, code, re] of cases) {
    const r = await clawbake(['boot-test', ...args, '--json'], { cwd: root, env: { CLAWBAKE_ROOT: root, ...env } })
    t.equal(r.code, code, r.stderr)
    t.match(r.stderr, re)
    t.equal(r.json().ok, false)
    t.notOk(existsSync(join(root, '.clawbake', 'boot-test')), 'no run directory')
  }
  writeFileSync(join(root, 'bad.json'), JSON.stringify({ machineId: 'abc', hostKeys: ['MD5:xx'] }))
  const bad = await clawbake(['boot-test', image, '--build-identity', join(root, 'bad.json'), '--json'], { cwd: root, env: { CLAWBAKE_ROOT: root, AVOTS_API_KEY: 'sk-avots-test-0123456789abcdef' } })
  t.equal(bad.code, 2)
  t.equal(bad.json().error.rule, 'boot-test.identity-invalid')
})

t.test('meta-data: instance id, host name and the operator key, as a cloud hands them out', async t => {
  const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGq0 clawbake-boot-test'
  const m = parse(metaData({ instanceId: 'clawbake-boot-1a2b', hostname: 'client-1', sshPublicKey: key + '\n' }))
  t.same(m, { 'instance-id': 'clawbake-boot-1a2b', 'local-hostname': 'client-1', 'public-keys': [key] })
})

t.test('fresh identity: a new machine-id and new host keys, compared with the build VM', async t => {
  const build = { machineId: 'a'.repeat(32), hostKeys: ['SHA256:build1', 'SHA256:build2'] }
  const fresh = { machineId: 'b'.repeat(32), hostKeys: ['SHA256:new1', 'SHA256:new2'] }
  t.ok(freshIdentity(fresh, build, ['SHA256:new1']).ok)
  t.match(freshIdentity({ ...fresh, machineId: build.machineId }, build, []).detail, /machine-id a+ is the build VM's/)
  t.match(freshIdentity({ ...fresh, hostKeys: ['SHA256:build2', 'SHA256:new1'] }, build, []).detail, /SSH host key\(s\) SHA256:build2 are the build VM's/)
  t.match(freshIdentity({ ...fresh, machineId: 'uninitialized' }, build, []).detail, /not a generated id/)
  t.match(freshIdentity(fresh, build, ['SHA256:other']).detail, /the host key SSH saw \(SHA256:other\) is not one of the VM's/)
  const none = freshIdentity(fresh, null, [])
  t.ok(none.ok)
  t.match(none.detail, /no build VM identity recorded/)
})

t.test('the VM sockets the admin-tunnel gate reads over SSH (`ss -Hltun -p` output)', async t => {
  const out = [
    'udp   UNCONN 0      0          10.0.2.15%ens3:68        0.0.0.0:*    users:(("systemd-network",pid=301,fd=22))',
    'tcp   LISTEN 0      4096        127.0.0.1:18789      0.0.0.0:*    users:(("docker-proxy",pid=1201,fd=7))',
    'tcp   LISTEN 0      128           0.0.0.0:22         0.0.0.0:*    users:(("sshd",pid=412,fd=3))',
    'tcp   LISTEN 0      4096     172.31.240.1:2222       0.0.0.0:*    users:(("systemd",pid=1,fd=60))',
    'tcp   LISTEN 0      511              [::]:8080          [::]:*    users:(("node",pid=999,fd=20))',
  ].join('\n')
  const s = parseSs(out)
  t.same(s.map(x => [x.proto, x.address, x.port, x.process]), [
    ['udp', '10.0.2.15', 68, 'systemd-network'], ['tcp', '127.0.0.1', 18789, 'docker-proxy'], ['tcp', '0.0.0.0', 22, 'sshd'], ['tcp', '172.31.240.1', 2222, 'systemd'], ['tcp', '::', 8080, 'node'],
  ])
  const ctx = { composeGateway: '172.31.240.1', ownPid: null }
  t.same(s.map(x => allowedExposure(x, ctx)), ['DHCP client', null, 'admin sshd', 'sandbox socket (compose network only)', null], 'from outside there is no gate process of ours to allow')
})

t.test('the report names every check; a failure line lists the failed ones', async t => {
  t.same([...BOOT_CHECKS], ['cloud-init', 'no-build-leftovers', 'stack', 'owner-exec', 'stranger-refused', 'admin-tunnel', 'client-secrets', 'fresh-identity', 'state-disk', 'egress', 'upgrade', 'upgrade-from-previous', 'rollback', 'second-boot'])
  const first = BOOT_CHECKS.slice(0, 10)
  t.same(bootChecksFor({}), [...first, 'upgrade', 'rollback', 'second-boot'], 'by default: the same-image upgrade, the rollback onto it, the second client')
  t.same(bootChecksFor({ previous: { image: 'p.qcow2', what: 'stable' } }), [...first, 'upgrade', 'upgrade-from-previous', 'rollback', 'second-boot'], 'with the image clients run today: the upgrade from it too')
  t.same(bootChecksFor({ upgrade: false, secondBoot: false, previous: { image: 'p.qcow2', what: 'stable' } }), first, '--once: one boot, nothing moved')
  t.ok(bootTimeouts('tcg').timeouts.readyMs! > bootTimeouts('kvm').timeouts.readyMs!, 'an emulated CPU gets longer')
  const line = failedChecks({ ok: false, openclawVersion: 'x', mode: 'boot', image: 'i', accelerator: 'tcg', timings: [], wallMs: 1, identity: null, dir: 'd', gates: [{ id: 'cloud-init', ok: false, detail: 'status error', ms: 0 }, { id: 'stack', ok: true, detail: 'fine', ms: 0 }] })
  t.equal(line, 'cloud-init (status error)')
})

t.test('cloud-init status --wait --long, as the VM prints it (a dot a poll, then the status on the same line)', async t => {
  const said = '............................................................status: done\nextended_status: done\nboot_status_code: enabled-by-generator\ndetail: DataSourceNoCloud [seed=/dev/sr0]\nerrors: []\nrecoverable_errors: {}\n'
  const ssh = { exec: async () => ({ code: 0, stdout: said, stderr: '', ms: 1, timedOut: false }) } as unknown as Parameters<typeof cloudInitDone>[0]
  const v = await cloudInitDone(ssh, 1000)
  t.equal(v.ok, true, v.detail)
  t.match(v.detail, /^cloud-init status done, errors \[\]/)
  const failed = { exec: async () => ({ code: 1, stdout: '....status: error\nerrors:\n\t- (\'scripts_user\', RuntimeError(\'Runparts: 1 failures (runcmd) in 1 attempted commands\'))\nrecoverable_errors: {}\n', stderr: '', ms: 1, timedOut: false }) } as unknown as Parameters<typeof cloudInitDone>[0]
  const f = await cloudInitDone(failed, 1000)
  t.equal(f.ok, false)
  t.match(f.detail, /cloud-init status error \(exit 1\): .*scripts_user/)
})

t.test('ssh failures that never reached the command are told apart from the command failing', async t => {
  for (const said of ['kex_exchange_identification: read: Connection reset by peer', 'ssh: connect to host 127.0.0.1 port 40111: Connection refused', 'Connection closed by remote host']) t.match(said, SSH_NOT_CONNECTED, said)
  for (const said of ['debian@127.0.0.1: Permission denied (publickey).', 'Host key verification failed.', 'sudo: a password is required']) t.notMatch(said, SSH_NOT_CONNECTED, said)
})

t.test('a stand-in on this machine as the guest reaches it: qemu\'s host address, the same port', async t => {
  t.equal(asSeenByGuest('http://127.0.0.1:35673'), 'http://10.0.2.2:35673', 'the Bot API root the egress check must find allowed (not 127.0.0.1, the guest\'s own loopback)')
  t.equal(asSeenByGuest('http://127.0.0.1:4100/v1'), 'http://10.0.2.2:4100/v1')
  t.throws(() => asSeenByGuest('https://api.telegram.org'), /not on this machine's loopback/)
})
