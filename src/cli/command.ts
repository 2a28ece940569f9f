import type { Io } from '../io.ts'

/** One `clawbake <name>` subcommand. Returns the process exit code (0 ok, 1 failed, 2 usage/env). */
export interface Command {
  name: string
  summary: string
  usage: string
  run(argv: string[], io: Io): Promise<number>
}
