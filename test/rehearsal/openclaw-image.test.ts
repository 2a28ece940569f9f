// The rehearsal OpenClaw image, checked with real tools only: built from the
// pinned openclaw npm package (cached under .clawbake/cache, reused across
// runs), pushed with skopeo to a real docker-registry on 127.0.0.1, resolved
// by the clawbake binary, pulled back by skopeo, unpacked by umoci and run
// with chroot as uid 1000; then the same storage served over https as
// ghcr.io with a throwaway CA, which curl trusts only when given the CA.
import t from 'tap'
import { createHash, createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto'
import { existsSync, lstatSync, mkdtempSync, readFileSync, readlinkSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { connect, type PeerCertificate } from 'node:tls'
import { fileURLToPath } from 'node:url'
import { buildOpenclawImage, IMAGE_PATH } from '../../src/rehearsal/openclaw-image.ts'
import { pushImage, registryRawDigest, REPOSITORY, startRegistry } from '../../src/rehearsal/registry.ts'
import { run, runOk } from '../../src/proc/run.ts'
import { readPinRecord } from '../../src/pins/record.ts'
import { cacheRoot, projectPaths } from '../../src/paths.ts'
import { clawbake } from '../support/cli.ts'

// a cold build is about a minute on an idle machine, several under load
t.setTimeout(30 * 60_000)

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const TAG = readPinRecord(projectPaths(ROOT).pinsLock).tag
// the cache the rehearsal bake itself uses, so the suite builds the image once
const CACHE = join(cacheRoot(), 'openclaw-image')
const sha256 = (s: string) => 'sha256:' + createHash('sha256').update(Buffer.from(s, 'utf8')).digest('hex')

const image = await buildOpenclawImage({ tag: TAG, cacheDir: CACHE })
t.comment(`openclaw image ${TAG}: ${image.cached ? 'from the cache' : 'built'} in ${(image.ms / 1000).toFixed(1)} s, layers ${image.layers.map(l => `${l.name} ${(l.size / 1e6).toFixed(0)} MB`).join(', ')} (${(image.layers.reduce((n, l) => n + l.tarSize, 0) / 1e6).toFixed(0)} MB unpacked)`)

const plain = await startRegistry()
t.teardown(plain.stop)
const pushed = await pushImage(image.ref, plain.host, REPOSITORY, TAG)
const ref = `docker://${plain.host}/${REPOSITORY}`
const skopeo = async (args: string[]) => JSON.parse((await runOk('skopeo', [...args], { timeoutMs: 120_000 })).stdout)

t.test('the finished layout is cached by its inputs', async t => {
  const again = await buildOpenclawImage({ tag: TAG, cacheDir: CACHE })
  t.equal(again.cached, true, 'the second build takes the cached layout')
  t.equal(again.digest, image.digest)
  t.equal(again.ref, `${again.layout}:${TAG}`)
  t.ok(again.ms < 5000, `warm in ${again.ms} ms`)
  t.comment(`warm: ${again.ms} ms`)
  const index = JSON.parse(readFileSync(join(again.layout, 'index.json'), 'utf8'))
  t.equal(index.manifests.length, 1)
  t.equal(index.manifests[0].digest, image.digest, 'the layout index names the image index')
  t.equal(index.manifests[0].annotations['org.opencontainers.image.ref.name'], TAG)
  t.same(readdirSync(again.layout).sort(), ['blobs', 'clawbake-image.json', 'index.json', 'oci-layout'], 'no build leftovers next to the layout')
  t.same(readdirSync(CACHE).filter(f => f.startsWith('.build-')), [], 'no half-built dirs left in the cache')
})

t.test('the tag is an OCI index the way upstream publishes: amd64 plus its attestation', async t => {
  t.equal(pushed, image.digest, 'the registry serves the digest that was built (skopeo --preserve-digests)')
  t.equal(await registryRawDigest(plain.host, REPOSITORY, TAG), image.digest)
  const index = await skopeo(['inspect', '--raw', '--tls-verify=false', `${ref}:${TAG}`])
  t.equal(index.mediaType, 'application/vnd.oci.image.index.v1+json')
  t.equal(index.manifests.length, 2)
  const [amd64, att] = index.manifests
  t.same(amd64.platform, { os: 'linux', architecture: 'amd64' })
  t.equal(amd64.digest, image.manifestDigest)
  t.same(att.platform, { os: 'unknown', architecture: 'unknown' })
  t.same(att.annotations, { 'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': amd64.digest })

  const attManifest = await skopeo(['inspect', '--raw', '--tls-verify=false', `${ref}@${att.digest}`])
  t.equal(attManifest.layers.length, 1)
  const layer = attManifest.layers[0]
  t.equal(layer.mediaType, 'application/vnd.in-toto+json')
  const blob = await runOk('curl', ['-sSf', `http://${plain.host}/v2/${REPOSITORY}/blobs/${layer.digest}`], { timeoutMs: 60_000 })
  t.equal(sha256(blob.stdout), layer.digest, 'the statement blob is what the manifest says')
  const statement = JSON.parse(blob.stdout)
  t.equal(statement.predicateType, 'https://spdx.dev/Document')
  t.equal(statement.subject[0].digest.sha256, amd64.digest.slice(7), 'the statement is about the amd64 manifest')
  t.equal(statement.predicate.spdxVersion, 'SPDX-2.3')
  const packages = new Map<string, string>(statement.predicate.packages.map((p: { name: string; versionInfo: string }) => [p.name, p.versionInfo]))
  t.equal(packages.get('openclaw'), TAG)
  t.match(packages.get('node'), /^24\./)
  for (const deb of ['tini', 'ca-certificates', 'curl', 'openssh-client', 'procps', 'hostname', 'libc6']) t.ok(packages.has(deb), `SBOM lists ${deb}`)
})

t.test('clawbake resolve returns the same index digest and linux/amd64 only', async t => {
  const r = await clawbake(['resolve', TAG, '--image', `${plain.host}/${REPOSITORY}`, '--json'], { cwd: ROOT })
  t.equal(r.code, 0, r.stderr)
  const out = r.json()
  t.equal(out.digest, image.digest)
  t.equal(out.mediaType, 'application/vnd.oci.image.index.v1+json')
  t.same(out.platforms, [{ os: 'linux', architecture: 'amd64', digest: image.manifestDigest }], 'the attestation is not a platform')
})

t.test('the config is upstream\'s: user node, /app, tini, the gateway, the healthcheck', async t => {
  // the config blob itself (skopeo inspect --config re-renders it as OCI's struct, which has no Healthcheck)
  const manifest = await skopeo(['inspect', '--raw', '--tls-verify=false', `${ref}@${image.manifestDigest}`])
  const blob = await runOk('curl', ['-sSf', `http://${plain.host}/v2/${REPOSITORY}/blobs/${manifest.config.digest}`], { timeoutMs: 60_000 })
  t.equal(sha256(blob.stdout), manifest.config.digest)
  const c = JSON.parse(blob.stdout)
  t.equal(c.os, 'linux')
  t.equal(c.architecture, 'amd64')
  t.equal(c.config.User, 'node')
  t.equal(c.config.WorkingDir, '/app')
  t.same(c.config.Entrypoint, ['tini', '-s', '--'])
  t.same(c.config.Cmd, ['node', 'openclaw.mjs', 'gateway'])
  t.ok(c.config.Env.includes('NODE_ENV=production'))
  t.ok(c.config.Env.includes(`PATH=${IMAGE_PATH}`))
  t.ok(IMAGE_PATH.startsWith('/home/node/.local/bin:'))
  t.same(c.config.Healthcheck.Test, ['CMD', 'node', 'dist/docker-healthcheck.js'])
  t.notOk('HOME' in Object.fromEntries(c.config.Env.map((e: string) => e.split('='))), 'HOME is not set (upstream sets none)')
  t.equal(c.rootfs.diff_ids.length, 3, 'OS, node and app layers')
})

t.test('pulled back and unpacked, the rootfs runs OpenClaw as uid 1000', async t => {
  const tmp = mkdtempSync(join(tmpdir(), 'clawbake-image-test-'))
  t.teardown(() => rmSync(tmp, { recursive: true, force: true }))
  // what a Docker pull picks from the index: the linux/amd64 image
  await runOk('skopeo', ['copy', '--quiet', '--src-tls-verify=false', '--override-os', 'linux', '--override-arch', 'amd64', `${ref}:${TAG}`, `oci:${join(tmp, 'pulled')}:${TAG}`], { timeoutMs: 10 * 60_000 })
  await runOk('umoci', ['unpack', '--image', `${join(tmp, 'pulled')}:${TAG}`, join(tmp, 'bundle')], { timeoutMs: 10 * 60_000 })
  const rootfs = join(tmp, 'bundle', 'rootfs')
  const at = (p: string) => join(rootfs, p)

  for (const d of ['home/node/.openclaw', 'home/node/.openclaw/workspace', 'home/node/.config/openclaw']) {
    const s = statSync(at(d))
    t.ok(s.isDirectory(), `/${d} is a directory`)
    t.equal(s.mode & 0o777, 0o700, `/${d} is 0700`)
    t.equal(s.uid, 1000, `/${d} is owned by uid 1000`)
    t.equal(s.gid, 1000, `/${d} is owned by gid 1000`)
  }
  t.equal(statSync(at('app')).uid, 1000, '/app is owned by node')
  t.equal(statSync(at('app/dist/index.js')).uid, 1000)
  t.equal(statSync(at('usr/local/bin/node')).uid, 0, 'the node binary is root\'s')
  t.equal(readlinkSync(at('usr/local/bin/openclaw')), '/app/openclaw.mjs')
  t.ok(existsSync(at('app/node_modules/json5/package.json')), 'dependencies are in /app/node_modules')
  t.notOk(existsSync(at('app/.openclaw-lifecycle-pending')), 'no package lifecycle pending')
  t.ok(existsSync(at('app/dist/docker-healthcheck.js')))
  t.ok(statSync(at('usr/bin/tini')).isFile(), 'tini is /usr/bin/tini (the entrypoint resolves through PATH)')
  t.match(readFileSync(at('etc/passwd'), 'utf8'), /^node:x:1000:1000::\/home\/node:\/bin\/bash$/m)
  t.ok(lstatSync(at('dev')).isDirectory(), '/dev is there')
  t.same(readdirSync(at('dev')), [], 'and empty: no device nodes in the layer')

  const inImage = async (script: string) => await run('chroot', ['--userspec=1000:1000', rootfs, '/usr/bin/env', '-i', `PATH=${IMAGE_PATH}`, 'NODE_ENV=production', 'HOME=/home/node', '/bin/sh', '-c', script], { timeoutMs: 120_000 })
  const version = await inImage('cd /app && node openclaw.mjs --version')
  t.equal(version.code, 0, version.stderr)
  t.match(version.stdout, TAG, 'node openclaw.mjs --version prints the tag')
  const cli = await inImage('/usr/local/bin/openclaw --version')
  t.equal(cli.code, 0, cli.stderr)
  t.match(cli.stdout, TAG, '/usr/local/bin/openclaw works')
  const index = await inImage('cd /app && node dist/index.js --version')
  t.equal(index.code, 0, index.stderr)
  t.match(index.stdout, TAG, 'dist/index.js starts (the compose CLI service entrypoint)')
  const who = await inImage('id -u; id -g; touch /home/node/.openclaw/probe && stat -c %u /home/node/.openclaw/probe; for p in tini curl ssh ps hostname; do command -v $p; done')
  t.equal(who.code, 0, who.stderr)
  t.same(who.stdout.trim().split('\n'), ['1000', '1000', '1000', '/usr/bin/tini', '/usr/bin/curl', '/usr/bin/ssh', '/usr/bin/ps', '/usr/bin/hostname'])
})

t.test('served over https as ghcr.io from the same storage, trusted only with its CA', async t => {
  const tls = await startRegistry({ storage: plain.storage, tls: { hostname: 'ghcr.io' } })
  let stopped = false
  t.teardown(async () => { if (!stopped) await tls.stop() })
  t.equal(tls.tls, true)
  t.match(tls.url, /^https:\/\/127\.0\.0\.1:\d+$/)
  const caFile = tls.caCertFile!
  const resolve = `ghcr.io:${tls.port}:127.0.0.1`
  const v2 = `https://ghcr.io:${tls.port}/v2/`

  const ok = await run('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '--cacert', caFile, '--resolve', resolve, v2], { timeoutMs: 30_000 })
  t.equal(ok.code, 0, ok.stderr)
  t.equal(ok.stdout, '200', 'GET /v2/ answers 200 with the CA')
  const untrusted = await run('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '--resolve', resolve, v2], { timeoutMs: 30_000 })
  t.equal(untrusted.code, 60, 'without the CA curl refuses the certificate (exit 60)')
  t.not(untrusted.stdout, '200')
  const manifest = await runOk('curl', ['-sSf', '--cacert', caFile, '--resolve', resolve, '-H', 'Accept: application/vnd.oci.image.index.v1+json', `https://ghcr.io:${tls.port}/v2/${REPOSITORY}/manifests/${TAG}`], { timeoutMs: 30_000 })
  t.equal(sha256(manifest.stdout), image.digest, 'the https registry serves the index pushed over http')

  const peer = await new Promise<PeerCertificate>((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port: tls.port, servername: 'ghcr.io', ca: tls.caCertPem }, () => { const c = s.getPeerCertificate(); s.end(); resolve(c) })
    s.on('error', reject)
  })
  t.equal(peer.subjectaltname, 'DNS:ghcr.io', 'the server certificate is for ghcr.io')
  t.ok(Date.parse(peer.valid_from) < Date.now() - 30 * 60_000, `valid from before now (${peer.valid_from}): a guest clock a little behind still accepts it`)
  const ca = new X509Certificate(tls.caCertPem!)
  t.equal(ca.ca, true)
  t.equal(createPublicKey(createPrivateKey(tls.caKeyPem!)).export({ type: 'spki', format: 'pem' }), ca.publicKey.export({ type: 'spki', format: 'pem' }), 'caKeyPem is the CA\'s key')
  t.match(tls.caKeyPem, /^-----BEGIN PRIVATE KEY-----/)
  const dir = dirname(caFile)
  t.same(readdirSync(dir).filter(f => /\.key$/.test(f)), ['server.key'], 'the CA key is not on disk, only the server key the registry needs')

  await tls.stop()
  stopped = true
  t.notOk(existsSync(dir), 'stop removed the config, the certificates and the server key')
  t.throws(() => process.kill(tls.daemon.pid, 0), { code: 'ESRCH' }, 'the registry process is gone')
  t.ok(plain.daemon.running(), 'the plain registry over the same storage still runs')
  t.ok(existsSync(plain.storage), 'and its storage is untouched')
})
