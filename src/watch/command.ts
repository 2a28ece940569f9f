import type { Command } from '../cli/command.ts'
import { usageError } from '../errors.ts'

// Placeholder until this command lands: says so plainly (exit 2).
export const command: Command = {
  name: 'watch',
  summary: '',
  usage: 'clawbake watch',
  async run() {
    throw usageError('clawbake watch is not implemented yet', 'not-implemented')
  },
}
