// ajv (draft 2020-12 off, draft-07 schemas) with ajv-formats, one compiled
// validator per schema file, cached for the life of the process. What only
// checks a document against its schema goes through assert.ts instead, whose
// validators the bundle carries precompiled (no ajv at start-up).
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Ajv, type ValidateFunction } from 'ajv'
import addFormatsModule from 'ajv-formats'
import { SCHEMA_DIR } from '../paths.ts'

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv

let ajv: Ajv | undefined
const compiled = new Map<string, ValidateFunction>()

/** clawbake's ajv set-up; `source`: keep the generated code (scripts/build-cli.ts writes it out as standalone validators) */
export function createSchemaAjv(opts: { source?: boolean } = {}): Ajv {
  const a = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true, ...(opts.source ? { code: { source: true } } : {}) })
  addFormats(a)
  a.addKeyword({ keyword: 'x-rule', schemaType: 'string' })
  a.addKeyword({ keyword: 'x-message', schemaType: 'string' })
  return a
}

export function schemaAjv(): Ajv {
  ajv ??= createSchemaAjv()
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
