// A real OCI registry for rehearsal bakes and tests: Debian's docker-registry
// (distribution 2.8) on a free 127.0.0.1 port with filesystem storage, in one
// of three auth modes (none, token with a caller-supplied realm, htpasswd),
// over plain http or over https with a throwaway CA made here (so a VM's
// Docker can pull `ghcr.io/openclaw/openclaw@sha256:...` from the host with
// the production reference). Several registries may serve one storage dir:
// push once over plain http, serve the same bytes with auth or TLS.
//
// Also the skopeo side: `pushImage` (`skopeo copy --all`) returns the index
// digest as the registry serves it, read back independently of clawbake's
// own registry client (`registryRawDigest`: `skopeo inspect --raw` + sha256).
//
// Everything this starts is stopped by its PID; every temp file (config,
// htpasswd, TLS keys, auth files) lives in one temp dir removed on stop, or
// on process exit if the caller never got to stop it.
import { createHash, randomBytes, X509Certificate } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Agent, request } from 'undici'
import { writeFileAtomic } from '../atomic.ts'
import { createMasker } from '../bake/mask.ts'
import { ClawbakeError, envError } from '../errors.ts'
import { freeLoopbackPort } from '../loopback.ts'
import { runOk, startDaemon, tail, type Daemon, type Mask } from '../proc/run.ts'

export const REPOSITORY = 'openclaw/openclaw'
export const DOCKER_REGISTRY = '/usr/bin/docker-registry'

export type RegistryAuth =
  | { kind: 'none' }
  /** Basic auth against a bcrypt htpasswd file made here (`htpasswd -B`, password on stdin) */
  | { kind: 'htpasswd'; user: string; password: string; realm?: string }
  /** Bearer tokens from a token server the caller runs (distribution's `auth.token`) */
  | { kind: 'token'; realm: string; service: string; issuer: string; rootCertBundle: string }

export interface RegistryOptions {
  /** filesystem storage root; default a fresh dir removed on stop. A caller's dir is never removed. */
  storage?: string
  auth?: RegistryAuth
  /** serve https with a server certificate for this hostname (SAN DNS:<hostname>) signed by a throwaway CA */
  tls?: { hostname: string }
  log?: (line: string) => void
  /** how long to wait for `/v2/` to answer */
  readyMs?: number
}

/** What a TLS registry adds (see RegistryOptions.tls). */
export interface RegistryTls {
  /** the host name its certificate is for (SAN DNS:<hostname>) */
  hostname: string
  /** the throwaway CA: give it to a VM's Docker (`/etc/docker/certs.d/<hostname>[:port]/ca.crt`) */
  caCertPem: string
  /** the CA's private key, kept in memory only (its file is deleted at once): search a captured disk for it */
  caKeyPem: string
  /** the CA certificate as a file (for `curl --cacert`), removed on stop */
  caCertFile: string
}

export interface Registry extends Partial<RegistryTls> {
  /** `127.0.0.1:<port>` */
  host: string
  port: number
  /** `http://127.0.0.1:<port>` or `https://127.0.0.1:<port>` */
  url: string
  storage: string
  auth: RegistryAuth['kind']
  /** https (with hostname, caCertPem, caKeyPem, caCertFile set) or plain http */
  tls: boolean
  daemon: Daemon
  /** SIGTERM (then SIGKILL) by PID, then remove the temp dir (config, keys); idempotent */
  stop(): Promise<void>
}

function maskFor(secret: string | undefined): Mask {
  return createMasker(secret && secret.length >= 4 ? [secret] : [])
}

function where(field: string, rule: string): { field: string; rule: string } {
  return { field, rule }
}

/** `YYYYMMDDHHMMSSZ`, the form `openssl ca -startdate/-enddate` takes. */
function asn1Time(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:T]/g, '').replace(/\.\d+Z$/, 'Z')
}

/**
 * A throwaway CA and a server certificate for `hostname`, both P-256, valid
 * from an hour ago (a guest clock a little behind the host's must not find
 * them "not yet valid") for a week. `openssl ca`, because `openssl x509 -req`
 * of OpenSSL 3.0 cannot backdate.
 */
async function makeTls(dir: string, hostname: string, masker: Mask): Promise<{ tls: RegistryTls; certFile: string; keyFile: string }> {
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i.test(hostname)) {
    throw new ClawbakeError(`not a DNS host name: ${JSON.stringify(hostname)}`, { field: 'tls.hostname', rule: 'registry.tls-hostname' }, 2)
  }
  const ca = join(dir, 'ca')
  mkdirSync(join(ca, 'issued'), { recursive: true, mode: 0o700 })
  const caKey = join(ca, 'ca.key')
  const caCsr = join(ca, 'ca.csr')
  const caCert = join(dir, 'ca.crt')
  const key = join(dir, 'server.key')
  const csr = join(ca, 'server.csr')
  const cert = join(dir, 'server.crt')
  const cnf = join(ca, 'openssl.cnf')
  writeFileAtomic(join(ca, 'index.txt'), '', 0o600)
  // a random first serial, 16 hex digits (even, as openssl wants; positive: the top nibble is 1), one more for the server certificate
  writeFileAtomic(join(ca, 'serial'), `1${randomBytes(8).toString('hex').slice(1)}\n`, 0o600)
  writeFileAtomic(cnf, [
    '[ ca ]', 'default_ca = rehearsal',
    '[ rehearsal ]', `database = ${join(ca, 'index.txt')}`, `new_certs_dir = ${join(ca, 'issued')}`, `serial = ${join(ca, 'serial')}`,
    'default_md = sha256', 'policy = any_name', 'unique_subject = no', 'email_in_dn = no', 'copy_extensions = none',
    '[ any_name ]', 'commonName = supplied',
    '[ ca_ext ]', 'basicConstraints = critical,CA:TRUE,pathlen:0', 'keyUsage = critical,keyCertSign,cRLSign', 'subjectKeyIdentifier = hash',
    '[ server_ext ]', `subjectAltName = DNS:${hostname}`, 'basicConstraints = critical,CA:FALSE', 'keyUsage = critical,digitalSignature',
    'extendedKeyUsage = serverAuth', 'subjectKeyIdentifier = hash', 'authorityKeyIdentifier = keyid',
    '',
  ].join('\n'), 0o600)
  const now = Date.now()
  const dates = ['-startdate', asn1Time(now - 3600_000), '-enddate', asn1Time(now + 7 * 86400_000)]
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes']
  const step = { timeoutMs: 60_000, masker, rule: 'env.openssl' }
  await runOk('openssl', ['req', '-new', ...ec, '-keyout', caKey, '-out', caCsr, '-subj', `/CN=clawbake rehearsal CA ${randomBytes(6).toString('hex')}`], { ...step, what: 'openssl req (throwaway CA key)' })
  await runOk('openssl', ['ca', '-batch', '-notext', '-config', cnf, '-selfsign', '-keyfile', caKey, '-in', caCsr, '-out', caCert, '-extensions', 'ca_ext', ...dates], { ...step, what: 'openssl ca -selfsign (throwaway CA)' })
  await runOk('openssl', ['req', '-new', ...ec, '-keyout', key, '-out', csr, '-subj', `/CN=${hostname}`], { ...step, what: 'openssl req (server key)' })
  await runOk('openssl', ['ca', '-batch', '-notext', '-config', cnf, '-cert', caCert, '-keyfile', caKey, '-in', csr, '-out', cert, '-extensions', 'server_ext', ...dates], { ...step, what: 'openssl ca (server certificate)' })
  const caCertPem = readFileSync(caCert, 'utf8')
  const caKeyPem = readFileSync(caKey, 'utf8')
  // the registry needs the server key only: the CA's key and its bookkeeping leave the disk now
  rmSync(ca, { recursive: true, force: true })
  const x = new X509Certificate(readFileSync(cert))
  if (x.subjectAltName !== `DNS:${hostname}` || !x.checkIssued(new X509Certificate(caCertPem))) {
    throw envError(`the server certificate openssl made is not what was asked (SAN ${x.subjectAltName ?? 'none'})`, where('tls.hostname', 'registry.tls-certificate'))
  }
  return { tls: { hostname, caCertPem, caKeyPem, caCertFile: caCert }, certFile: cert, keyFile: key }
}

/** One process 'exit' listener for all running registries (not one each: a test suite runs dozens). */
const reapers = new Set<() => void>()
function atExit(reap: () => void): void {
  if (!exitHooked) {
    exitHooked = true
    process.once('exit', () => { for (const r of reapers) r() })
  }
  reapers.add(reap)
}
let exitHooked = false

/**
 * Start `docker-registry serve` on a free 127.0.0.1 port and wait until
 * `/v2/` answers (200, or 401 with auth).
 */
export async function startRegistry(opts: RegistryOptions = {}): Promise<Registry> {
  if (!existsSync(DOCKER_REGISTRY)) throw envError(`${DOCKER_REGISTRY} not found: apt-get install docker-registry`, where('docker-registry', 'env.program-missing'))
  const auth = opts.auth ?? { kind: 'none' }
  const log = opts.log ?? (() => {})
  const dir = mkdtempSync(join(tmpdir(), 'clawbake-registry-'))
  const removeDir = () => rmSync(dir, { recursive: true, force: true })
  const masker = maskFor(auth.kind === 'htpasswd' ? auth.password : undefined)
  let daemon: Daemon | null = null
  // if the process dies before stop() (uncaught error, EPIPE), leave no registry and no key behind
  const reap = () => {
    if (daemon?.running()) {
      try { process.kill(-daemon.pid, 'SIGKILL') } catch { try { process.kill(daemon.pid, 'SIGKILL') } catch { /* gone */ } }
    }
    removeDir()
  }
  atExit(reap)
  let stopped = false
  const stop = async () => {
    if (stopped) return
    stopped = true
    await daemon?.stop()
    reapers.delete(reap)
    removeDir()
  }
  try {
    const storage = opts.storage ?? join(dir, 'storage')
    mkdirSync(storage, { recursive: true })
    const port = await freeLoopbackPort()
    const host = `127.0.0.1:${port}`

    let authBlock: string[] = []
    if (auth.kind === 'token') {
      authBlock = ['auth:', '  token:', `    realm: ${auth.realm}`, `    service: ${auth.service}`, `    issuer: ${auth.issuer}`, `    rootcertbundle: ${auth.rootCertBundle}`]
    } else if (auth.kind === 'htpasswd') {
      // -i: the password on stdin, never on a command line
      const h = await runOk('htpasswd', ['-niB', auth.user], { input: auth.password, masker, timeoutMs: 60_000, what: 'htpasswd -B', rule: 'env.htpasswd' })
      const file = join(dir, 'htpasswd')
      writeFileAtomic(file, h.stdout.trim() + '\n', 0o600)
      authBlock = ['auth:', '  htpasswd:', `    realm: ${auth.realm ?? 'clawbake'}`, `    path: ${file}`]
    }

    let tls: RegistryTls | undefined
    let tlsBlock: string[] = []
    if (opts.tls) {
      const made = await makeTls(dir, opts.tls.hostname, masker)
      tls = made.tls
      tlsBlock = ['  tls:', `    certificate: ${made.certFile}`, `    key: ${made.keyFile}`]
    }

    const config = join(dir, 'config.yml')
    writeFileAtomic(config, [
      'version: 0.1',
      'log:',
      '  level: warn',
      '  accesslog:',
      '    disabled: true',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${storage}`,
      '  delete:',
      '    enabled: true',
      'http:',
      `  addr: ${host}`,
      `  secret: ${randomBytes(16).toString('hex')}`,
      ...tlsBlock,
      ...authBlock,
      '',
    ].join('\n'), 0o600)

    daemon = startDaemon(DOCKER_REGISTRY, ['serve', config], { masker, onLine: l => log(`docker-registry: ${l}`) })
    const url = `${tls ? 'https' : 'http'}://${host}`
    await waitReady(daemon, url, tls, opts.readyMs ?? 15_000)
    log(`docker-registry ${opts.tls ? `https (${opts.tls.hostname})` : 'http'} on ${host}, auth ${auth.kind}, storage ${storage}`)
    return { host, port, url, storage, auth: auth.kind, tls: !!tls, ...tls, daemon, stop }
  } catch (e) {
    await stop()
    throw e
  }
}

async function waitReady(daemon: Daemon, url: string, tls: RegistryTls | undefined, ms: number): Promise<void> {
  // over https, check the certificate as a client will: the CA, and the host name the VM will use
  const dispatcher = tls ? new Agent({ connect: { ca: tls.caCertPem, servername: tls.hostname } }) : new Agent()
  const until = Date.now() + ms
  let last = ''
  try {
    for (;;) {
      if (!daemon.running()) throw envError(`docker-registry exited at start: ${tail(daemon.output()) || 'no output'}`, where('docker-registry', 'registry.start'))
      try {
        const res = await request(`${url}/v2/`, { dispatcher, headersTimeout: 2000, bodyTimeout: 2000 })
        await res.body.arrayBuffer()
        if (res.statusCode === 200 || res.statusCode === 401) return
        last = `HTTP ${res.statusCode}`
      } catch (e) {
        last = (e as Error).message
      }
      if (Date.now() > until) throw envError(`docker-registry on ${url} did not answer /v2/ within ${ms} ms (${last}): ${tail(daemon.output())}`, where('docker-registry', 'registry.start'))
      await new Promise(r => setTimeout(r, 50))
    }
  } finally {
    await dispatcher.close()
  }
}

// ---------------------------------------------------------------- skopeo

export interface SkopeoOptions {
  /** push/pull credentials, given to skopeo through a temp auth file (never on its command line) */
  creds?: { user: string; password: string }
  timeoutMs?: number
  signal?: AbortSignal
  log?: (line: string) => void
}

function sha256(b: Buffer | string): string {
  return 'sha256:' + createHash('sha256').update(b).digest('hex')
}

/** A temp dir holding a containers-auth.json for `host` (or none), removed by the callback. */
function authDir(host: string, creds: SkopeoOptions['creds']): { dir: string; args: (flag: string) => string[]; done(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'clawbake-skopeo-'))
  const file = join(dir, 'auth.json')
  if (creds) writeFileAtomic(file, JSON.stringify({ auths: { [host]: { auth: Buffer.from(`${creds.user}:${creds.password}`).toString('base64') } } }) + '\n', 0o600)
  return { dir, args: flag => (creds ? [flag, file] : []), done: () => rmSync(dir, { recursive: true, force: true }) }
}

/** `transport:ref` for skopeo: `oci:<dir>:<tag>` and `dir:<dir>` as given, a bare `<dir>:<tag>` as an OCI layout. */
function sourceRef(layoutRef: string): string {
  return /^(oci|dir|oci-archive|docker-archive):/.test(layoutRef) ? layoutRef : `oci:${layoutRef}`
}

/**
 * `skopeo copy --all --preserve-digests` an image (an OCI layout ref, or any
 * skopeo source) to `docker://<registryHost>/<repo>:<tag>` and return the
 * digest of the top-level manifest (the index) as the registry now serves it:
 * read back with `skopeo inspect --raw`, and refused if it differs from the
 * digest skopeo says it wrote (`--digestfile`). With --preserve-digests skopeo
 * fails rather than rewrite a manifest, so the pushed digest is the built one.
 */
export async function pushImage(layoutRef: string, registryHost: string, repo: string, tag: string, opts: SkopeoOptions = {}): Promise<string> {
  const dest = `docker://${registryHost}/${repo}:${tag}`
  const a = authDir(registryHost, opts.creds)
  const masker = maskFor(opts.creds?.password)
  try {
    const digestFile = join(a.dir, 'digest')
    await runOk('skopeo', [
      'copy', '--all', '--preserve-digests', '--dest-tls-verify=false', '--quiet',
      ...a.args('--dest-authfile'), '--digestfile', digestFile,
      sourceRef(layoutRef), dest,
    ], { timeoutMs: opts.timeoutMs ?? 10 * 60_000, masker, ...(opts.signal ? { signal: opts.signal } : {}), what: `skopeo copy --all to ${dest}`, rule: 'registry.push' })
    const written = readFileSync(digestFile, 'utf8').trim()
    const served = await registryRawDigest(registryHost, repo, tag, opts)
    if (written !== served) {
      throw new ClawbakeError(`skopeo wrote ${written} but ${dest} serves ${served}`, { file: dest, field: 'digest', rule: 'registry.push-digest-mismatch' }, 1)
    }
    opts.log?.(`pushed ${layoutRef} -> ${dest} (${served})`)
    return served
  } finally {
    a.done()
  }
}

/** `skopeo inspect --raw ... | sha256sum`: the digest of the bytes the registry serves for `repo:tag`, independently of clawbake's registry client. */
export async function registryRawDigest(registryHost: string, repo: string, tag: string, opts: SkopeoOptions = {}): Promise<string> {
  const ref = `docker://${registryHost}/${repo}:${tag}`
  const a = authDir(registryHost, opts.creds)
  const masker = maskFor(opts.creds?.password)
  try {
    const r = await runOk('skopeo', ['inspect', '--raw', '--tls-verify=false', ...a.args('--authfile'), ref], {
      timeoutMs: opts.timeoutMs ?? 60_000, masker, ...(opts.signal ? { signal: opts.signal } : {}), what: `skopeo inspect --raw ${ref}`, rule: 'registry.inspect',
    })
    // the runner hands output over as text: fine for a manifest (UTF-8 JSON), but refuse what did not decode cleanly
    if (r.stdout.includes('\uFFFD')) throw new ClawbakeError(`the manifest of ${ref} is not valid UTF-8: cannot hash its bytes`, { file: ref, rule: 'registry.manifest-encoding' }, 1)
    return sha256(Buffer.from(r.stdout, 'utf8'))
  } finally {
    a.done()
  }
}
