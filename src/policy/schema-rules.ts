// The hardening policy written as JSON Schemas (schemas/policy-*.schema.json):
// each invariant is one subschema carrying `x-rule` (stable id) and
// `x-message` (what a person reads). An ajv error is attributed to the
// deepest `x-rule` on its schema path, so one broken invariant is one finding.
import type { ErrorObject } from 'ajv'
import { schemaAjv, schemaValidator } from '../schema/validate.ts'
import type { Finding } from './finding.ts'

export const OPENCLAW_POLICY = 'policy-openclaw.schema.json'
export const COMPOSE_POLICY = 'policy-compose.schema.json'

interface RuleNode { rule: string; message: string }

function ruleFor(schemaRoot: unknown, schemaPath: string): RuleNode | undefined {
  const parts = schemaPath.replace(/^#\/?/, '').split('/').filter(Boolean).map(p => decodeURIComponent(p).replace(/~1/g, '/').replace(/~0/g, '~'))
  let node: unknown = schemaRoot
  let found: RuleNode | undefined
  const visit = (n: unknown): void => {
    if (n && typeof n === 'object' && typeof (n as Record<string, unknown>)['x-rule'] === 'string') {
      const o = n as Record<string, string>
      found = { rule: o['x-rule']!, message: o['x-message'] ?? o['x-rule']! }
    }
  }
  visit(node)
  for (const p of parts) {
    if (!node || typeof node !== 'object') break
    node = (node as Record<string, unknown>)[p]
    visit(node)
  }
  return found
}

function detail(e: ErrorObject): string {
  if (e.keyword === 'additionalProperties' && 'additionalProperty' in e.params) return `unexpected ${String(e.params.additionalProperty)}`
  if (e.keyword === 'required' && 'missingProperty' in e.params) return `missing ${String(e.params.missingProperty)}`
  if (e.keyword === 'const' && 'allowedValue' in e.params) return `must be ${JSON.stringify(e.params.allowedValue)}`
  if (e.keyword === 'false schema') return 'must not be set'
  return e.message ?? 'is invalid'
}

/** Findings of `value` against the policy schema `name` (one per rule and place). */
export function policyFindings(name: string, value: unknown, file: string): Finding[] {
  const validate = schemaValidator(name)
  if (validate(value)) return []
  const root = schemaAjv().getSchema(validate.schema && typeof validate.schema === 'object' ? String((validate.schema as { $id?: string }).$id ?? '') : '')?.schema ?? validate.schema
  const out: Finding[] = []
  const seen = new Set<string>()
  for (const e of validate.errors ?? []) {
    // `not`/`anyOf` wrappers repeat what their inner errors say
    if (e.keyword === 'anyOf' || e.keyword === 'allOf' || e.keyword === 'if') continue
    const r = ruleFor(root, e.schemaPath)
    if (!r) continue
    const path = e.instancePath || '/'
    const key = `${r.rule}\0${path}`
    if (seen.has(key)) continue
    seen.add(key)
    out.push({ rule: r.rule, file, path, message: `${r.message} (${path}: ${detail(e)})` })
  }
  return out
}
