// One error type for everything clawbake refuses. Every refusal names where
// (file and field, when there is one), which rule, and what is wrong, and maps
// to the exit codes of the command-line contract: 1 a check/gate/decision
// failed, 2 usage or environment error.

export type ExitCode = 1 | 2

export interface ErrorWhere {
  /** file (or URL) the problem is in */
  file?: string
  /** field / JSON path / YAML path inside it */
  field?: string
  /** stable rule id, e.g. `version.malformed`, `pin.digest-mismatch` */
  rule: string
}

export class ClawbakeError extends Error {
  readonly exitCode: ExitCode
  readonly file: string | undefined
  readonly field: string | undefined
  readonly rule: string

  constructor(message: string, where: ErrorWhere, exitCode: ExitCode = 1, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'ClawbakeError'
    this.exitCode = exitCode
    this.file = where.file
    this.field = where.field
    this.rule = where.rule
  }

  /** `file: field: [rule] message` - the one line a person reads. */
  describe(): string {
    const at = [this.file, this.field].filter(Boolean).join(': ')
    return `${at ? at + ': ' : ''}[${this.rule}] ${this.message}`
  }

  toJSON(): Record<string, unknown> {
    return { rule: this.rule, file: this.file ?? null, field: this.field ?? null, message: this.message }
  }
}

/** Bad command line or missing prerequisite: exit 2. */
export function usageError(message: string, rule = 'usage'): ClawbakeError {
  return new ClawbakeError(message, { rule }, 2)
}

/** The environment cannot do what was asked (missing tool, network, credentials): exit 2. */
export function envError(message: string, where: ErrorWhere, cause?: unknown): ClawbakeError {
  return new ClawbakeError(message, where, 2, { cause })
}
