// The pin record (pins.lock.json): which OpenClaw image bytes the golden VM runs.
import { readFileSync } from 'node:fs'
import { isDeepStrictEqual } from 'node:util'
import { ClawbakeError } from '../errors.ts'
import { assertSchema } from '../schema/assert.ts'

export interface PlatformDigest {
  os: string
  architecture: string
  variant?: string
  digest: string
}

export interface PinRecord {
  schemaVersion: 1
  image: string
  tag: string
  digest: string
  mediaType: string
  platforms: PlatformDigest[]
  resolvedAt: string
  sourceRelease: string
  note?: string
  /** where the digest was verified when that is not `image` (a mirror, a test registry) */
  resolvedFrom?: string
  /** false when pinned with `clawbake pin --digest` without asking a registry */
  verified?: boolean
}

export const PIN_SCHEMA = 'pins-lock.schema.json'

/** Read and validate the pin record; a missing or corrupt record is one clear error. */
export function readPinRecord(file: string): PinRecord {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    throw new ClawbakeError(
      code === 'ENOENT' ? 'pin record is missing: run `clawbake pin <tag>` to create it' : `cannot read pin record (${code})`,
      { file, rule: 'pin.record-missing' },
    )
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (e) {
    throw new ClawbakeError(`pin record is not valid JSON: ${(e as Error).message}`, { file, rule: 'pin.record-corrupt' })
  }
  return assertSchema<PinRecord>(PIN_SCHEMA, value, file, 'pin.record-corrupt')
}

/** The record as written: schema-checked, two-space JSON, trailing newline. */
export function serializePinRecord(record: PinRecord, file: string): string {
  assertSchema<PinRecord>(PIN_SCHEMA, record, file, 'pin.record-invalid')
  return JSON.stringify(record, null, 2) + '\n'
}

/** Same pin, whenever it was resolved: everything but resolvedAt and note. */
export function samePin(a: PinRecord, b: PinRecord): boolean {
  const strip = ({ resolvedAt: _r, note: _n, ...rest }: PinRecord) => rest
  return isDeepStrictEqual(strip(a), strip(b))
}
