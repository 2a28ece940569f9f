// The edges a command touches, passed in so tests can aim them at stand-ins.
// Human output goes to stderr; `--json` puts exactly one document on stdout.

export interface Io {
  /** stdout: only ever the one JSON document of `--json` */
  out(text: string): void
  /** stderr: human progress and errors */
  err(text: string): void
  env: Record<string, string | undefined>
  /** the clawbake checkout / work tree the command operates on */
  cwd: string
  now(): Date
  /** stderr is a terminal (progress bars instead of plain lines) */
  tty?: boolean
}

export function processIo(): Io {
  return {
    out: s => process.stdout.write(s),
    err: s => process.stderr.write(s),
    env: process.env,
    cwd: process.env.CLAWBAKE_ROOT ?? process.cwd(),
    now: () => new Date(),
    tty: process.stderr.isTTY === true,
  }
}

/** Print `value` as the single JSON document on stdout. */
export function emitJson(io: Io, value: unknown): void {
  io.out(JSON.stringify(value, null, 2) + '\n')
}
