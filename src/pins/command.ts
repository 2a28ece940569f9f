import type { Command } from '../cli/command.ts'
import { usageError } from '../errors.ts'

// Placeholder until this command lands: says so plainly (exit 2).
export const command: Command = {
  name: 'pin',
  summary: '',
  usage: 'clawbake pin',
  async run() {
    throw usageError('clawbake pin is not implemented yet', 'not-implemented')
  },
}
