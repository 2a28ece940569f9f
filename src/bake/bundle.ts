// The gate suite for the build VM: src/bake/vm-gates.ts (which runs
// src/gates/suite.ts) bundled by esbuild into ONE ES module, so the node
// inside the pinned OpenClaw image runs it with no install step. The bundle
// is laid out like the package (lib/gates.mjs beside schemas/), because the
// code finds its JSON Schemas one level above itself (src/paths.ts).
import { cpSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { envError } from '../errors.ts'
import { PACKAGE_ROOT, SCHEMA_DIR } from '../paths.ts'

export const VM_GATES_ENTRY = join(PACKAGE_ROOT, 'src', 'bake', 'vm-gates.ts')

/** `<dir>/lib/gates.mjs` and `<dir>/schemas/`: upload the whole directory. */
export async function bundleGates(dir: string, entry = VM_GATES_ENTRY): Promise<{ file: string; bytes: number }> {
  const outfile = join(dir, 'lib', 'gates.mjs')
  mkdirSync(join(dir, 'lib'), { recursive: true })
  cpSync(SCHEMA_DIR, join(dir, 'schemas'), { recursive: true })
  const esbuild = await import('esbuild')
  try {
    const r = await esbuild.build({
      entryPoints: [entry],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node22',
      minify: false,
      sourcemap: false,
      metafile: true,
      logLevel: 'silent',
      // CommonJS dependencies call require(): give the ES module one.
      banner: { js: "import { createRequire as __clawbakeRequire } from 'node:module'; const require = __clawbakeRequire(import.meta.url);" },
    })
    const bytes = Object.values(r.metafile.outputs).reduce((n, o) => n + o.bytes, 0)
    return { file: outfile, bytes }
  } catch (e) {
    const errors = (e as { errors?: { text: string; location?: { file: string; line: number } }[] }).errors ?? []
    const first = errors[0]
    throw envError(
      `cannot bundle the gate suite for the VM: ${first ? `${first.location ? `${first.location.file}:${first.location.line}: ` : ''}${first.text}` : (e as Error).message}`,
      { file: first?.location?.file ?? entry, rule: 'bake.gate-bundle' },
      e,
    )
  }
}
