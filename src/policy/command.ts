import type { Command } from '../cli/command.ts'
import { usageError } from '../errors.ts'

// Placeholder until this command lands: says so plainly (exit 2).
export const command: Command = {
  name: 'check',
  summary: '',
  usage: 'clawbake check',
  async run() {
    throw usageError('clawbake check is not implemented yet', 'not-implemented')
  },
}
