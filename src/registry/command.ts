import type { Command } from '../cli/command.ts'
import { usageError } from '../errors.ts'

// Placeholder until this command lands: says so plainly (exit 2).
export const command: Command = {
  name: 'resolve',
  summary: '',
  usage: 'clawbake resolve',
  async run() {
    throw usageError('clawbake resolve is not implemented yet', 'not-implemented')
  },
}
