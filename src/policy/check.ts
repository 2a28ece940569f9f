// checkArtifacts: every shipped artifact against the hardening policy and
// the pinned OpenClaw's own rules. Read-only: it never writes to the tree
// (the upstream-schema cache lives in the user's cache dir).
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { isAbsolute, join, relative, resolve } from 'node:path'
import { parseDocument } from 'yaml'
import { ClawbakeError } from '../errors.ts'
import { projectPaths } from '../paths.ts'
import { readPinRecord, type PinRecord } from '../pins/record.ts'
import { ensureOpenclaw } from '../openclaw/runtime.ts'
import { validateCloudConfig } from '../provision/cloud-init.ts'
import { CLIENT_ENV_PATH } from '../provision/user-data.ts'
import { clientEnvEgressFindings, clientEnvOf } from '../provision/egress.ts'
import { uniqueFindings, type Finding, type CheckReport } from './finding.ts'
import { policyFindings, OPENCLAW_POLICY, COMPOSE_POLICY } from './schema-rules.ts'
import { endpoints, envDeclared, modelAllowlist, ownerBinding } from './config-rules.ts'
import { controlUiOrigins, dangerousFlagFindings } from './dangerous.ts'
import { skillAllowlist } from './skills.ts'
import { dotenvKeys, dummyValue, jsonEnvRefs, resolveEnvRefs } from './env-refs.ts'
import { structuredSecrets, textSecrets } from './secrets.ts'
import { pinAgreement } from './pin-agreement.ts'
import { configValidateFindings, upstreamSchemaFindings, upstreamValidator } from './upstream.ts'
import { shellcheckFindings } from './shellcheck.ts'

export type { Finding, CheckReport } from './finding.ts'

export interface CheckOptions {
  root: string
  env: Record<string, string | undefined>
  /** openclaw.json to check instead of packer/files/openclaw.json (relative to root) */
  config?: string
  /** docker-compose.yml to check instead of packer/files/docker-compose.yml */
  compose?: string
  /** a client's user-data (`clawbake user-data` output) whose egress allowlist to check as well */
  userData?: string
}

function display(root: string, file: string): string {
  const rel = relative(root, file)
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file
}

function read(file: string, shown: string, findings: Finding[]): string | undefined {
  try {
    return readFileSync(file, 'utf8')
  } catch (e) {
    findings.push({ rule: 'artifact.missing', file: shown, path: '/', message: `cannot read it (${(e as NodeJS.ErrnoException).code ?? String(e)})` })
    return undefined
  }
}

function listFiles(dir: string): string[] {
  const out: string[] = []
  let entries: string[] = []
  try { entries = readdirSync(dir) } catch { return out }
  for (const name of entries.sort()) {
    const p = join(dir, name)
    const st = statSync(p)
    if (st.isDirectory()) out.push(...listFiles(p))
    else if (st.isFile() && st.size < 4 * 1024 * 1024) out.push(p)
  }
  return out
}

// cloud-init and shellcheck verdicts, memoised by content for the life of the process
const toolVerdicts = new Map<string, Promise<Finding[]>>()
function memo(kind: string, text: string, file: string, compute: () => Promise<Finding[]>): Promise<Finding[]> {
  const key = `${kind}\0${createHash('sha256').update(text).digest('hex')}`
  let hit = toolVerdicts.get(key)
  if (!hit) {
    hit = compute()
    toolVerdicts.set(key, hit)
    hit.catch(() => toolVerdicts.delete(key))
  }
  return hit.then(list => list.map(f => ({ ...f, file })))
}

function egressFindings(cloudConfig: string, file: string): Finding[] {
  const env = clientEnvOf(cloudConfig, CLIENT_ENV_PATH)
  if (env) return clientEnvEgressFindings(env.content, file, env.path)
  return [{ rule: 'egress.client-env', file, path: '/write_files', message: `no write_files entry for ${CLIENT_ENV_PATH}: the egress allowlist cannot be checked` }]
}

export async function checkArtifacts(opts: CheckOptions): Promise<CheckReport> {
  const root = resolve(opts.root)
  const paths = projectPaths(root)
  const configFile = opts.config ? resolve(root, opts.config) : paths.openclawConfig
  const composeFile = opts.compose ? resolve(root, opts.compose) : paths.compose
  const show = (f: string) => display(root, f)
  const findings: Finding[] = []

  // --- read and parse -----------------------------------------------------
  const configText = read(configFile, show(configFile), findings)
  let config: unknown
  if (configText !== undefined) {
    try {
      config = JSON.parse(configText)
    } catch (e) {
      findings.push({ rule: 'artifact.parse', file: show(configFile), path: '/', message: `not strict JSON (OpenClaw would fall back to JSON5, clawbake does not): ${(e as Error).message}` })
    }
  }
  const composeText = read(composeFile, show(composeFile), findings)
  let compose: unknown
  if (composeText !== undefined) {
    const doc = parseDocument(composeText, { merge: true, uniqueKeys: true })
    if (doc.errors.length) findings.push({ rule: 'artifact.parse', file: show(composeFile), path: '/', message: `not valid YAML: ${doc.errors[0]!.message}` })
    else compose = doc.toJS({ maxAliasCount: 100 })
  }
  const envText = read(paths.envExample, show(paths.envExample), findings)
  const declared = new Set(envText === undefined ? [] : dotenvKeys(envText).keys())
  let lock: PinRecord | undefined
  try {
    lock = readPinRecord(paths.pinsLock)
  } catch (e) {
    if (!(e instanceof ClawbakeError)) throw e
    findings.push({ rule: e.rule, file: show(paths.pinsLock), path: e.field ?? '/', message: e.message })
  }

  // --- policy: schemas, then what a schema cannot say --------------------------
  if (config !== undefined) {
    findings.push(...policyFindings(OPENCLAW_POLICY, config, show(configFile)))
    findings.push(...modelAllowlist(config, show(configFile)))
    findings.push(...ownerBinding(config, show(configFile)))
    findings.push(...endpoints(config, show(configFile)))
    findings.push(...controlUiOrigins(config, show(configFile)))
    findings.push(...skillAllowlist(config, show(configFile)))
    // dangerously* anywhere and the audit's flags; the pinned schema's own marks are added below (repeats dropped)
    findings.push(...dangerousFlagFindings(config, show(configFile)))
    findings.push(...structuredSecrets(config, show(configFile)))
  }
  if (compose !== undefined && composeText !== undefined) {
    findings.push(...policyFindings(COMPOSE_POLICY, compose, show(composeFile)))
    findings.push(...pinAgreement({ compose, composeText, file: show(composeFile), lock, lockFile: show(paths.pinsLock) }))
    findings.push(...structuredSecrets(compose, show(composeFile)))
  }
  if (envText !== undefined) {
    findings.push(...envDeclared({ config, configFile: show(configFile), composeText, composeFile: show(composeFile), declared, envFile: show(paths.envExample) }))
  }

  // --- no plaintext secret in anything that ships ---------------------------
  const shipped = new Set([...listFiles(paths.files), configFile, composeFile])
  for (const f of shipped) {
    let text: string
    try { text = readFileSync(f, 'utf8') } catch { continue }
    if (text.includes('\0')) continue
    findings.push(...textSecrets(text, show(f)))
  }

  // --- the real tools: upstream schema + CLI, cloud-init, shellcheck -----------
  const external: Promise<Finding[]>[] = []
  if (config !== undefined && configText !== undefined && lock) {
    const runtime = await ensureOpenclaw(lock.tag, opts.env)
    const vars = new Set([...declared, ...jsonEnvRefs(config)])
    external.push((async () => {
      const { validate, dangerous } = await upstreamValidator(runtime.version, opts.env, runtime)
      return [
        ...dangerousFlagFindings(config, show(configFile), dangerous, runtime.version),
        ...upstreamSchemaFindings(validate, resolveEnvRefs(config, dummyValue), show(configFile), runtime.version),
      ]
    })())
    external.push(configValidateFindings({ configText, file: show(configFile), vars, runtime }))
  }
  const cloudText = read(paths.cloudInit, show(paths.cloudInit), findings)
  // --- the egress allowlist (docs/egress.md): the snippet's and a client's client.env
  if (cloudText !== undefined) findings.push(...egressFindings(cloudText, show(paths.cloudInit)))
  if (opts.userData) {
    const userDataFile = resolve(root, opts.userData)
    const text = read(userDataFile, show(userDataFile), findings)
    if (text !== undefined) findings.push(...egressFindings(text, show(userDataFile)))
  }
  if (cloudText !== undefined) {
    external.push(memo('cloud-init', cloudText, show(paths.cloudInit), () => validateCloudConfig(cloudText).then(v => v.valid ? [] : [{
      rule: 'cloudinit.schema',
      file: show(paths.cloudInit),
      path: '/',
      message: `\`cloud-init schema\` rejects it: ${v.errors.join('; ')}`,
    }])))
  }
  for (const script of listFiles(paths.files).filter(f => f.endsWith('.sh'))) {
    external.push(memo('shellcheck', readFileSync(script, 'utf8'), show(script), () => shellcheckFindings(script, show(script), 'script.shellcheck')))
  }
  for (const list of await Promise.all(external)) findings.push(...list)

  const unique = uniqueFindings(findings)
  return { ok: unique.length === 0, findings: unique }
}
