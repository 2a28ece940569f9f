// openclaw.json against the pinned OpenClaw's OWN rules, two ways:
//  - openclaw.upstream-schema: `openclaw config schema` of that version
//    (draft-07, ~2.5 MB). Compiled once with ajv into standalone validation
//    code, cached on disk per version (CLAWBAKE_CACHE or ~/.cache/clawbake/
//    upstream-schema/<version>/), loaded in-process afterwards. The flags
//    that schema marks as dangerous (src/policy/dangerous.ts) are cached
//    beside it, in dangerous-flags.json.
//  - openclaw.config-validate: the real `openclaw config validate --json`
//    with a temp HOME holding the file and a .env of dummy values.
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { homedir, tmpdir } from 'node:os'
import { join } from 'node:path'
import { Ajv, type ErrorObject } from 'ajv'
import addFormatsModule from 'ajv-formats'
import standaloneModule from 'ajv/dist/standalone/index.js'
import { ClawbakeError, envError } from '../errors.ts'
import { ensureOpenclaw, type OpenclawRuntime } from '../openclaw/runtime.ts'
import type { Finding } from './finding.ts'
import { dummyValue } from './env-refs.ts'
import { writeFileAtomic, writeJsonAtomic } from '../atomic.ts'
import { run, tail } from '../proc/run.ts'
import { dangerousFlagsOf, type DangerousFlag } from './dangerous.ts'

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv
const standaloneCode = ((standaloneModule as unknown as { default?: unknown }).default ?? standaloneModule) as (ajv: Ajv, v: unknown) => string
const requireHere = createRequire(import.meta.url)
/** bump when the way the cache is produced changes */
const CACHE_FORMAT = 1

export type UpstreamValidator = ((value: unknown) => boolean) & { errors?: ErrorObject[] | null }

export function upstreamSchemaCacheDir(version: string, env: Record<string, string | undefined>): string {
  const base = env.CLAWBAKE_CACHE ?? join(homedir(), '.cache', 'clawbake')
  return join(base, 'upstream-schema', version)
}

/** A clean environment for running the OpenClaw CLI: no caller secrets leak in. */
export function cliEnv(home: string, extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, LANG: 'C.UTF-8', NO_COLOR: '1', OPENCLAW_HIDE_BANNER: '1', ...extra }
}

/**
 * Repairs for what upstream's generated schema gets wrong as a standalone
 * document, kept minimal: plugin config schemas embedded with their own
 * `$defs` and root-relative `#/$defs/..` refs get an `$id` so the refs resolve
 * inside them; the Zod artifact format "starts_with" is a no-op (the
 * accompanying `pattern` carries the rule).
 */
function repairUpstreamSchema(schema: unknown): unknown {
  const walk = (node: unknown, pointer: string) => {
    if (!node || typeof node !== 'object') return
    if (!Array.isArray(node) && pointer && (node as Record<string, unknown>).$defs && !(node as Record<string, unknown>).$id) {
      (node as Record<string, unknown>).$id = `urn:clawbake:openclaw-schema${pointer}`
    }
    for (const [k, v] of Object.entries(node)) walk(v, `${pointer}/${k}`)
  }
  walk(schema, '')
  return schema
}

/** What `clawbake check` takes from one version's schema: the compiled validator and the flags it marks dangerous. */
export interface UpstreamSchema {
  validate: UpstreamValidator
  dangerous: DangerousFlag[]
}

const loaded = new Map<string, UpstreamSchema>()

function loadStandalone(code: string): UpstreamValidator {
  const mod: { exports: Record<string, unknown> } = { exports: {} }
  // the cached code is what this process (or an earlier one) generated from ajv; it requires only ajv/ajv-formats runtime
  new Function('require', 'module', 'exports', code)(requireHere, mod, mod.exports)
  const v = (mod.exports.default ?? mod.exports) as UpstreamValidator
  if (typeof v !== 'function') throw new Error('cached validator has no function export')
  return v
}

async function fetchSchema(version: string, env: Record<string, string | undefined>, runtime?: OpenclawRuntime): Promise<string> {
  const rt = runtime ?? await ensureOpenclaw(version, env)
  const home = mkdtempSync(join(tmpdir(), 'clawbake-schema-'))
  try {
    const r = await run(rt.node, [rt.entry, 'config', 'schema'], { env: cliEnv(home) })
    if (r.code !== 0) throw envError(`\`openclaw config schema\` (${version}) failed: ${tail(r.stderr || `exit ${r.code}`, 3).replaceAll(' | ', ' ')}`, { rule: 'env.openclaw-schema' })
    return r.stdout
  } finally {
    rmSync(home, { recursive: true, force: true })
  }
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex')

/** The dangerous flags of one schema, written beside the compiled validator (its own file: the validator's cache format is unchanged). */
function writeDangerous(file: string, version: string, raw: string, parsed: unknown): DangerousFlag[] {
  const flags = dangerousFlagsOf(parsed)
  const body = JSON.stringify(flags)
  writeJsonAtomic(file, { version, schemaSha256: sha256(raw), flagsSha256: sha256(body), flags })
  return flags
}

function readDangerous(file: string, version: string, schemaSha256: string | undefined): DangerousFlag[] | undefined {
  try {
    const doc = JSON.parse(readFileSync(file, 'utf8')) as { version?: string; schemaSha256?: string; flagsSha256?: string; flags?: DangerousFlag[] }
    if (doc.version === version && schemaSha256 && doc.schemaSha256 === schemaSha256 && Array.isArray(doc.flags) && doc.flagsSha256 === sha256(JSON.stringify(doc.flags))) return doc.flags
  } catch { /* missing or damaged: derived again */ }
  return undefined
}

/**
 * The compiled upstream-schema validator for `version` and the flags that
 * schema marks as dangerous (dangerousFlagsOf), from memory, the disk cache,
 * or freshly built.
 */
export async function upstreamValidator(version: string, env: Record<string, string | undefined>, runtime?: OpenclawRuntime): Promise<UpstreamSchema & { source: 'memory' | 'disk' | 'built' }> {
  const mem = loaded.get(version)
  if (mem) return { ...mem, source: 'memory' }
  const dir = upstreamSchemaCacheDir(version, env)
  const codeFile = join(dir, 'validate.cjs')
  const metaFile = join(dir, 'meta.json')
  const dangerousFile = join(dir, 'dangerous-flags.json')
  if (existsSync(codeFile) && existsSync(metaFile)) {
    try {
      const meta = JSON.parse(readFileSync(metaFile, 'utf8')) as { format?: number; version?: string; codeSha256?: string; schemaSha256?: string }
      const code = readFileSync(codeFile, 'utf8')
      if (meta.format === CACHE_FORMAT && meta.version === version && meta.codeSha256 === sha256(code)) {
        const validate = loadStandalone(code)
        let dangerous = readDangerous(dangerousFile, version, meta.schemaSha256)
        if (!dangerous) {
          // a cache entry from before the flags were kept: the same schema, read once more
          const raw = await fetchSchema(version, env, runtime)
          if (sha256(raw) !== meta.schemaSha256) throw new Error('schema changed under the cache entry')
          dangerous = writeDangerous(dangerousFile, version, raw, JSON.parse(raw))
        }
        const entry = { validate, dangerous }
        loaded.set(version, entry)
        return { ...entry, source: 'disk' }
      }
    } catch (e) {
      if (e instanceof ClawbakeError) throw e
      /* a damaged cache entry is rebuilt below */
    }
  }
  const raw = await fetchSchema(version, env, runtime)
  const parsed = JSON.parse(raw) as unknown
  // from upstream's own document, before the repairs below
  const dangerous = writeDangerous(dangerousFile, version, raw, parsed)
  const schema = repairUpstreamSchema(parsed)
  const ajv = new Ajv({ allErrors: true, strict: false, code: { source: true } })
  addFormats(ajv)
  ajv.addFormat('starts_with', true)
  const compiled = ajv.compile(schema as object)
  const code = standaloneCode(ajv, compiled)
  // code first, meta (which carries the code's sha256) last: a half-written
  // entry never validates and is rebuilt
  writeFileAtomic(codeFile, code)
  writeJsonAtomic(metaFile, { format: CACHE_FORMAT, version, codeSha256: sha256(code), schemaSha256: sha256(raw), builtAt: new Date().toISOString() })
  const entry = { validate: compiled as unknown as UpstreamValidator, dangerous }
  loaded.set(version, entry)
  return { ...entry, source: 'built' }
}

function upstreamDetail(e: ErrorObject): string {
  if (e.keyword === 'additionalProperties' && 'additionalProperty' in e.params) return `unrecognized key ${JSON.stringify(e.params.additionalProperty)}`
  return e.message ?? 'is invalid'
}

/** openclaw.upstream-schema findings for an env-resolved config. */
export function upstreamSchemaFindings(validate: UpstreamValidator, resolvedConfig: unknown, file: string, version: string): Finding[] {
  if (validate(resolvedConfig)) return []
  const seen = new Set<string>()
  const out: Finding[] = []
  for (const e of validate.errors ?? []) {
    if (e.keyword === 'anyOf' || e.keyword === 'oneOf') continue
    const path = e.instancePath || '/'
    const message = `OpenClaw ${version}'s own schema rejects it: ${upstreamDetail(e)}`
    const key = `${path}\0${message}`
    if (seen.has(key)) continue
    seen.add(key)
    out.push({ rule: 'openclaw.upstream-schema', file, path, message })
  }
  return out.slice(0, 20)
}

const validated = new Map<string, Finding[]>()

/** openclaw.config-validate: the real CLI of the pinned version on this file (memoised by content). */
export async function configValidateFindings(opts: { configText: string; file: string; vars: Iterable<string>; runtime: OpenclawRuntime }): Promise<Finding[]> {
  const names = [...new Set(opts.vars)].sort()
  const key = createHash('sha256').update(opts.runtime.version).update('\0').update(opts.configText).update('\0').update(names.join(',')).digest('hex')
  const hit = validated.get(key)
  if (hit) return hit.map(f => ({ ...f, file: opts.file }))
  const home = mkdtempSync(join(tmpdir(), 'clawbake-validate-'))
  try {
    const state = join(home, '.openclaw')
    mkdirSync(state, { mode: 0o700 })
    writeFileSync(join(state, 'openclaw.json'), opts.configText, { mode: 0o600 })
    writeFileSync(join(state, '.env'), names.map(n => `${n}=${dummyValue(n)}`).join('\n') + '\n', { mode: 0o600 })
    const r = await run(opts.runtime.node, [opts.runtime.entry, 'config', 'validate', '--json'], { env: cliEnv(home), timeoutMs: 120_000 })
    const { stdout, stderr } = r
    const code = r.code ?? 2
    let doc: { valid?: boolean; issues?: { path?: string; message?: string }[]; errors?: unknown } | undefined
    try { doc = JSON.parse(stdout.slice(stdout.indexOf('{'))) } catch { doc = undefined }
    let findings: Finding[]
    if (doc?.valid === true && code === 0) {
      findings = []
    } else if (doc && doc.valid === false) {
      const issues = Array.isArray(doc.issues) ? doc.issues : []
      findings = (issues.length ? issues : [{ path: '', message: JSON.stringify(doc).slice(0, 400) }]).map(i => ({
        rule: 'openclaw.config-validate',
        file: opts.file,
        path: i.path && i.path !== '<root>' ? `/${String(i.path).replace(/\./g, '/')}` : '/',
        message: `\`openclaw config validate\` (${opts.runtime.version}) rejects it: ${i.message ?? 'invalid'}`,
      }))
    } else {
      findings = [{ rule: 'openclaw.config-validate', file: opts.file, path: '/', message: `\`openclaw config validate\` (${opts.runtime.version}) failed (exit ${code}): ${(stderr || stdout).trim().split('\n').slice(-3).join(' ').slice(0, 400)}` }]
    }
    validated.set(key, findings)
    return findings
  } finally {
    rmSync(home, { recursive: true, force: true })
  }
}
