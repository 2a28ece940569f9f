import type { Command } from '../cli/command.ts'
import { usageError } from '../errors.ts'

// Placeholder until this command lands: says so plainly (exit 2).
export const command: Command = {
  name: 'bake',
  summary: '',
  usage: 'clawbake bake',
  async run() {
    throw usageError('clawbake bake is not implemented yet', 'not-implemented')
  },
}
