// `clawbake <command>`: the one binary of the command-line contract
// (docs/design.md). Each command lives in the folder of its arrow and
// is loaded only when called, so `clawbake watch` does not load Packer code.
import type { Command } from './cli/command.ts'
import { ClawbakeError } from './errors.ts'
import { processIo, emitJson, type Io } from './io.ts'

const commands: Record<string, { summary: string; load: () => Promise<Command> }> = {
  watch: { summary: 'newest eligible upstream release vs the current pin; urgency and due date', load: async () => (await import('./watch/command.ts')).command },
  resolve: { summary: 'tag -> verified index digest on the OCI registry', load: async () => (await import('./registry/command.ts')).command },
  pin: { summary: 'patch docker-compose.yml + pins lock + CHANGELOG to a verified digest', load: async () => (await import('./pins/command.ts')).command },
  check: { summary: 'hardening policy + upstream config schema + cloud-init over every shipped artifact', load: async () => (await import('./policy/command.ts')).command },
  'user-data': { summary: 'per-client cloud-init user-data for a VM launched from the golden image', load: async () => (await import('./provision/command.ts')).command },
  verify: { summary: 'the gate suite (in the build VM, or --local against openclaw from npm)', load: async () => (await import('./gates/command.ts')).command },
  'boot-test': { summary: 'boot a captured image as a client VM (cloud-init, owner, stranger, tunnel, secrets, egress, upgrade with its state disk and back, second client; --upgrade-from the image clients run)', load: async () => (await import('./boottest/command.ts')).command },
  bake: { summary: 'watch -> resolve -> pin -> check -> packer build -> gates -> boot test -> publish', load: async () => (await import('./bake/command.ts')).command },
  sla: { summary: 'time-to-patch per release, overdue items', load: async () => (await import('./sla/command.ts')).command },
  image: { summary: 'pull a golden image from the OCI image store (verified, resumable), or push a held bake', load: async () => (await import('./store/command.ts')).imageCommand },
  channel: { summary: 'channel set <channel> <tag|digest> --reason: roll a channel back (or forward)', load: async () => (await import('./store/command.ts')).channelCommand },
  revoke: { summary: 'revoke <tag|digest> --reason: withdraw an image; the channel falls back', load: async () => (await import('./store/command.ts')).revokeCommand },
}

function help(): string {
  const width = Math.max(...Object.keys(commands).map(k => k.length))
  return [
    'usage: clawbake <command> [options] [--json]',
    '',
    ...Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
    '',
    'Human output goes to stderr; --json puts exactly one JSON document on stdout.',
    'Exit codes: 0 ok, 1 check/gate/decision failed, 2 usage or environment error.',
    '',
  ].join('\n')
}

export async function main(argv: string[], io: Io = processIo()): Promise<number> {
  const [name, ...rest] = argv
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.err(help())
    return name ? 0 : 2
  }
  const entry = commands[name]
  if (!entry) {
    io.err(`clawbake: unknown command "${name}"\n\n${help()}`)
    return 2
  }
  const json = rest.includes('--json')
  let wroteJson = false
  const guarded: Io = { ...io, out: s => { wroteJson = true; io.out(s) } }
  try {
    const command = await entry.load()
    if (rest.includes('--help') || rest.includes('-h')) {
      io.err(`usage: ${command.usage}\n`)
      return 0
    }
    return await command.run(rest, guarded)
  } catch (e) {
    const err = e instanceof ClawbakeError ? e : null
    const message = err ? err.describe() : (e as Error)?.stack ?? String(e)
    io.err(`clawbake ${name}: ${message}\n`)
    if (json && !wroteJson) emitJson(io, { ok: false, error: err ? err.toJSON() : { rule: 'internal', message: String((e as Error)?.message ?? e) } })
    return err ? err.exitCode : 2
  }
}
