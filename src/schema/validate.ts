// ajv (draft 2020-12 off, draft-07 schemas) with ajv-formats, one compiled
// validator per schema file, cached for the life of the process.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Ajv, type ValidateFunction, type ErrorObject } from 'ajv'
import addFormatsModule from 'ajv-formats'
import { ClawbakeError } from '../errors.ts'
import { SCHEMA_DIR } from '../paths.ts'

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv

let ajv: Ajv | undefined
const compiled = new Map<string, ValidateFunction>()

export function schemaAjv(): Ajv {
  if (!ajv) {
    ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true })
    addFormats(ajv)
    ajv.addKeyword({ keyword: 'x-rule', schemaType: 'string' })
    ajv.addKeyword({ keyword: 'x-message', schemaType: 'string' })
  }
  return ajv
}

/** Compile (once) the schema in `schemas/<name>`. */
export function schemaValidator(name: string): ValidateFunction {
  let v = compiled.get(name)
  if (!v) {
    const schema = JSON.parse(readFileSync(join(SCHEMA_DIR, name), 'utf8'))
    v = schemaAjv().compile(schema)
    compiled.set(name, v)
  }
  return v
}

export function describeAjvError(e: ErrorObject): string {
  const where = e.instancePath || '/'
  return `${where} ${e.message ?? 'is invalid'}${e.params && 'additionalProperty' in e.params ? ` (${String(e.params.additionalProperty)})` : ''}`
}

/** Validate `value` against `schemas/<name>` or throw one error naming the file, field and rule. */
export function assertSchema<T>(name: string, value: unknown, file: string, rule: string): T {
  const v = schemaValidator(name)
  if (!v(value)) {
    const first = v.errors?.[0]
    throw new ClawbakeError(
      `does not match ${name}: ${(v.errors ?? []).map(describeAjvError).join('; ')}`,
      { file, field: first?.instancePath || '/', rule },
    )
  }
  return value as T
}
