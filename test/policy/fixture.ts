// Hostile fixtures are CHANGES to the shipped files, not copies of them, so
// they keep meaning the same thing when the shipped files are edited: a JSON
// merge patch (RFC 7386; applied to the YAML document for compose, comments
// kept), or literal / regex replacements. `{{tag}}` is the pinned tag.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseDocument, isMap, type Document } from 'yaml'
import type { Test } from 'tap'
import { tempTree } from '../support/tree.ts'
import { checkArtifacts } from '../../src/policy/check.ts'

export const FIXTURES = fileURLToPath(new URL('../fixtures/policy/', import.meta.url))

export interface Fixture {
  rule: string
  file: string
  note?: string
  mergePatch?: Record<string, unknown>
  replace?: [string, string][]
  replaceRegex?: [string, string][]
  alsoRejectedBy?: string[]
  /** the JSON pointers (or `line N`) the rule's findings must name, in `fx.file` */
  paths?: string[]
}

export function loadFixtures(): Fixture[] {
  return readdirSync(FIXTURES).filter(f => f.endsWith('.json')).sort().map(f => JSON.parse(readFileSync(join(FIXTURES, f), 'utf8')) as Fixture)
}

function fill<T>(value: T, vars: Record<string, string>): T {
  return JSON.parse(JSON.stringify(value).replace(/\{\{(\w+)\}\}/g, (_, k: string) => vars[k] ?? '')) as T
}

export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!patch || typeof patch !== 'object' || Array.isArray(patch)) return patch
  const out: Record<string, unknown> = target && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {}
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k]
    else out[k] = mergePatch(out[k], v)
  }
  return out
}

function patchYaml(doc: Document, patch: Record<string, unknown>, at: string[] = []): void {
  for (const [k, v] of Object.entries(patch)) {
    const path = [...at, k]
    if (v === null) doc.deleteIn(path)
    else if (v && typeof v === 'object' && !Array.isArray(v) && isMap(doc.getIn(path, true))) patchYaml(doc, v as Record<string, unknown>, path)
    else doc.setIn(path, doc.createNode(v))
  }
}

/** The path of `fixture.file` in a project tree. */
export function fixturePath(root: string, file: string): string {
  return file === 'pins.lock.json' ? join(root, file) : join(root, 'packer', 'files', file)
}

/** Apply one fixture to the tree at `root` (a temp copy). */
export function applyFixture(root: string, raw: Fixture): void {
  const lock = JSON.parse(readFileSync(join(root, 'pins.lock.json'), 'utf8')) as { tag: string }
  const fx = fill(raw, { tag: lock.tag })
  const file = fixturePath(root, fx.file)
  let text = readFileSync(file, 'utf8')
  if (fx.mergePatch) {
    if (file.endsWith('.json')) {
      text = JSON.stringify(mergePatch(JSON.parse(text), fx.mergePatch), null, 2) + '\n'
    } else {
      const doc = parseDocument(text)
      patchYaml(doc, fx.mergePatch)
      text = doc.toString({ lineWidth: 0 })
    }
  }
  for (const [from, to] of fx.replace ?? []) {
    if (!text.includes(from)) throw new Error(`fixture ${fx.rule}: ${JSON.stringify(from)} not found in ${fx.file}`)
    text = text.replace(from, to)
  }
  for (const [re, to] of fx.replaceRegex ?? []) {
    const r = new RegExp(re, 'm')
    if (!r.test(text)) throw new Error(`fixture ${fx.rule}: /${re}/ matches nothing in ${fx.file}`)
    text = text.replace(r, to)
  }
  writeFileSync(file, text)
}

/**
 * Apply each selected hostile fixture to a temp copy of the shipped tree and
 * assert it is rejected by its rule id (plus any declared `alsoRejectedBy`)
 * and by nothing else. Two at a time: each runs the real `openclaw config validate`.
 */
export async function assertEachFixtureRejected(t: Test, select: (fx: Fixture) => boolean): Promise<void> {
  const fixtures = loadFixtures().filter(select)
  const results = new Map<string, Awaited<ReturnType<typeof checkArtifacts>>>()
  const queue = [...fixtures]
  await Promise.all([0, 1].map(async () => {
    for (let fx = queue.shift(); fx; fx = queue.shift()) {
      const root = tempTree(t)
      applyFixture(root, fx)
      results.set(fx.rule, await checkArtifacts({ root, env: process.env }))
    }
  }))
  for (const fx of fixtures) {
    const report = results.get(fx.rule)!
    const rules = [...new Set(report.findings.map(f => f.rule))].sort()
    t.same(rules, [fx.rule, ...(fx.alsoRejectedBy ?? [])].sort(), `${fx.rule}: ${report.findings.map(f => `${f.file} ${f.path} [${f.rule}] ${f.message}`).join(' | ')}`)
    t.equal(report.ok, false)
    if (fx.paths) {
      const own = report.findings.filter(f => f.rule === fx.rule)
      t.same(own.map(f => f.path).sort(), [...fx.paths].sort(), `${fx.rule}: the finding names the place`)
      t.same([...new Set(own.map(f => f.file))], [fx.file === 'pins.lock.json' ? fx.file : `packer/files/${fx.file}`], `${fx.rule}: the finding names the file`)
    }
    for (const f of report.findings) {
      t.match(f, { rule: String, file: String, path: String, message: String })
      t.notMatch(f.message, /literal-gateway-token-0123456789abcdef/, 'a finding never repeats the secret')
    }
  }
}
