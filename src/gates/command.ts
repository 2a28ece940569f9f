import type { Command } from '../cli/command.ts'
import { usageError } from '../errors.ts'

// Placeholder until this command lands: says so plainly (exit 2).
export const command: Command = {
  name: 'verify',
  summary: '',
  usage: 'clawbake verify',
  async run() {
    throw usageError('clawbake verify is not implemented yet', 'not-implemented')
  },
}
