// Build the bundle the installed `bin` runs: src/cli.ts and its dependencies
// as plain ES modules under dist/, one chunk per command (esbuild splitting),
// so `clawbake watch` still loads no Packer code and nothing is type-stripped
// at start-up. Run by `npm ci`/`npm install` (the `prepare` script) and by
// scripts/setup.sh; `--if-stale` does nothing when the bundle is current.
// bin/clawbake.js runs the TypeScript sources instead whenever dist/ is
// missing or older than any of the files recorded in dist/cli.inputs.json.
// The schema validators go in as ajv's standalone code (src/schema/compiled.ts
// replaced), so no command compiles a schema, or loads ajv, at start-up.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { PACKAGE_ROOT, SCHEMA_DIR } from '../src/paths.ts'
import { createSchemaAjv } from '../src/schema/validate.ts'

const root = PACKAGE_ROOT
const dist = join(root, 'dist')
const inputsFile = join(dist, 'cli.inputs.json')
/** what the bundle depends on besides the sources esbuild read: the installed dependencies */
const LOCKS = ['package-lock.json', 'node_modules/.package-lock.json']

export interface BundleInputs { builtAtMs: number; inputs: string[] }

/** true when dist/ holds a bundle no recorded input is newer than (the same rule bin/clawbake.js applies) */
export function bundleFresh(dir = root): boolean {
  try {
    const { builtAtMs, inputs } = JSON.parse(readFileSync(join(dir, 'dist', 'cli.inputs.json'), 'utf8')) as BundleInputs
    return existsSync(join(dir, 'dist', 'cli.mjs')) && inputs.every(f => statSync(join(dir, f)).mtimeMs <= builtAtMs)
  } catch {
    return false
  }
}

/** what the bundle has instead of src/schema/compiled.ts: every schema in schemas/ as ajv standalone code, and validatorFor() */
export async function precompiledSchemas(): Promise<{ code: string; files: string[] }> {
  // module.exports is the function, and its .default too (what the types know)
  const standaloneCode = (await import('ajv/dist/standalone/index.js')).default.default
  const ajv = createSchemaAjv({ source: true })
  const files = readdirSync(SCHEMA_DIR).filter(f => f.endsWith('.json')).sort()
  const exports: Record<string, string> = {}
  files.forEach((f, i) => {
    const schema = JSON.parse(readFileSync(join(SCHEMA_DIR, f), 'utf8')) as { $id?: string }
    ajv.addSchema(schema, f)
    exports[`v${i}`] = f
  })
  const byName = files.map((f, i) => `${JSON.stringify(f)}: exports.v${i}`).join(', ')
  // ajv writes CommonJS (exports.vN = ..., require() of its runtime helpers, which esbuild bundles); this module is ESM
  const code = `const exports = {};
${standaloneCode(ajv, exports)}
const validators = { ${byName} };
export function validatorFor(name) {
  const v = validators[name];
  if (!v) throw new Error(\`no schema \${name} in schemas/ when the bundle was built\`);
  return v;
}
`
  return { code, files: files.map(f => relative(root, join(SCHEMA_DIR, f))) }
}

export async function buildCli(): Promise<{ files: number; bytes: number; ms: number } | null> {
  // a production install (--omit=dev) has no esbuild: the CLI then runs the sources
  const esbuild = await import('esbuild').catch(() => null)
  if (!esbuild) return null
  // before esbuild reads anything: a source saved during the build makes the bundle stale
  const builtAtMs = Date.now()
  const schemas = await precompiledSchemas()
  const tmp = `${dist}.tmp-${process.pid}`
  rmSync(tmp, { recursive: true, force: true })
  mkdirSync(tmp, { recursive: true })
  try {
    const r = await esbuild.build({
      entryPoints: { cli: join(root, 'src', 'cli.ts') },
      outdir: tmp,
      outExtension: { '.js': '.mjs' },
      bundle: true,
      splitting: true,
      platform: 'node',
      format: 'esm',
      target: 'node22',
      metafile: true,
      logLevel: 'silent',
      // esbuild is a native binary (the bake's gate bundle imports it); zx is loaded through require at run time
      external: ['esbuild'],
      // CommonJS dependencies call require(): give each ES module chunk one.
      banner: { js: "import { createRequire as __clawbakeRequire } from 'node:module'; const require = __clawbakeRequire(import.meta.url);" },
      plugins: [{
        // `import { x } from 'node:fs'` in an ES module builds fs's whole namespace, getters included (fs.promises,
        // crypto.webcrypto, ...: modules nothing here uses); the builtin as a CommonJS module is read only where used
        name: 'builtins-as-commonjs',
        setup(b) {
          // (a dynamic import() stays one: it wants the named exports)
          b.onResolve({ filter: /^node:/ }, a => (a.kind === 'dynamic-import' ? { path: a.path, external: true } : { path: a.path, namespace: 'builtin' }))
          b.onLoad({ filter: /.*/, namespace: 'builtin' }, a => ({ contents: `module.exports = process.getBuiltinModule(${JSON.stringify(a.path)})`, loader: 'js' }))
        },
      }, {
        name: 'precompiled-schemas',
        setup(b) {
          b.onLoad({ filter: /[\\/]src[\\/]schema[\\/]compiled\.ts$/ }, () => ({ contents: schemas.code, loader: 'js', resolveDir: join(root, 'src', 'schema') }))
        },
      }],
    })
    const inputs = Object.keys(r.metafile.inputs)
      .filter(f => !f.startsWith('builtin:'))
      .map(f => relative(root, join(root, f)))
      // installed dependencies are covered by the lock files (node_modules may be a symlink: ../x/node_modules/)
      .filter(f => !f.split('/').includes('node_modules'))
      // read to generate the validators: the schemas and the ajv set-up
      .concat(schemas.files, ['src/schema/validate.ts'])
      .concat(LOCKS.filter(f => existsSync(join(root, f))))
      .filter((f, i, all) => all.indexOf(f) === i)
      .sort()
    writeFileSync(join(tmp, 'cli.inputs.json'), JSON.stringify({ builtAtMs, inputs } satisfies BundleInputs, null, 2) + '\n')
    // Into place without a moment of no bundle, and without pulling chunks from
    // under a clawbake already running: chunk names are content hashes, so the
    // new ones land beside the old; the entry, then the inputs record, go last.
    mkdirSync(dist, { recursive: true })
    const fresh = readdirSync(tmp)
    const last = ['cli.mjs', 'cli.inputs.json']
    for (const f of [...fresh.filter(f => !last.includes(f)), ...last]) renameSync(join(tmp, f), join(dist, f))
    rmSync(tmp, { recursive: true, force: true })
    // chunks of earlier builds, once no run that started before this build can still want them
    for (const f of readdirSync(dist)) {
      if (!fresh.includes(f) && statSync(join(dist, f)).mtimeMs < builtAtMs - 10 * 60_000) rmSync(join(dist, f), { force: true })
    }
    const outputs = Object.values(r.metafile.outputs)
    return { files: outputs.length, bytes: outputs.reduce((n, o) => n + o.bytes, 0), ms: Date.now() - builtAtMs }
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true })
    throw e
  }
}

if (process.argv[1] && relative(process.argv[1], new URL(import.meta.url).pathname) === '') {
  if (process.argv.includes('--if-stale') && bundleFresh()) {
    process.stderr.write(`build-cli: ${relative(process.cwd(), inputsFile)}: bundle is current\n`)
  } else {
    const b = await buildCli()
    if (!b) process.stderr.write('build-cli: esbuild is not installed (npm ci --omit=dev?): no bundle, clawbake runs its TypeScript sources\n')
    else process.stderr.write(`build-cli: dist/cli.mjs + ${b.files - 1} chunk(s), ${(b.bytes / 1024).toFixed(0)} KiB, in ${b.ms} ms\n`)
  }
}
