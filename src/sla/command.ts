import type { Command } from '../cli/command.ts'
import { usageError } from '../errors.ts'

// Placeholder until this command lands: says so plainly (exit 2).
export const command: Command = {
  name: 'sla',
  summary: '',
  usage: 'clawbake sla',
  async run() {
    throw usageError('clawbake sla is not implemented yet', 'not-implemented')
  },
}
