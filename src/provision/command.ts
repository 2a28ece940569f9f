import type { Command } from '../cli/command.ts'
import { usageError } from '../errors.ts'

// Placeholder until this command lands: says so plainly (exit 2).
export const command: Command = {
  name: 'user-data',
  summary: '',
  usage: 'clawbake user-data',
  async run() {
    throw usageError('clawbake user-data is not implemented yet', 'not-implemented')
  },
}
