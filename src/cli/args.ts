// Command-line parsing shared by every command: node:util parseArgs, strict,
// with usage errors (exit 2) that name the command and the offending option.
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { usageError } from '../errors.ts'

export type Options = NonNullable<ParseArgsConfig['options']>

export function parseCommandArgs<O extends Options>(
  command: string,
  argv: string[],
  options: O,
  usage: string,
  positionals: { min?: number; max?: number } = {},
) {
  let parsed
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true })
  } catch (e) {
    throw usageError(`clawbake ${command}: ${(e as Error).message}\nusage: ${usage}`)
  }
  const n = parsed.positionals.length
  if (n < (positionals.min ?? 0) || n > (positionals.max ?? 0)) {
    throw usageError(`clawbake ${command}: expected ${describeCount(positionals)} argument(s), got ${n}\nusage: ${usage}`)
  }
  return parsed
}

function describeCount(p: { min?: number; max?: number }): string {
  const min = p.min ?? 0
  const max = p.max ?? 0
  return min === max ? String(min) : `${min}-${max}`
}

/** Options every command takes. */
export const commonOptions = {
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies Options
