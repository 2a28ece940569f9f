// `clawbake resolve <tag> [--image REF] [--allow-prerelease] [--json]`:
// tag -> verified index digest (design.md: {image, tag, digest, mediaType, platforms}).
import type { Command } from '../cli/command.ts'
import { commonOptions, parseCommandArgs } from '../cli/args.ts'
import { emitJson } from '../io.ts'
import { platformName } from './manifest.ts'
import { describeMediaType } from './media.ts'
import { DEFAULT_IMAGE } from './reference.ts'
import { newSession, resolveImage } from './resolve.ts'

const usage = 'clawbake resolve <tag> [--image REF] [--allow-prerelease] [--json]'

export const command: Command = {
  name: 'resolve',
  summary: 'tag -> verified index digest on the OCI registry',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs('resolve', argv, {
      ...commonOptions,
      image: { type: 'string', default: DEFAULT_IMAGE },
      'allow-prerelease': { type: 'boolean', default: false },
    }, usage, { min: 1, max: 1 })
    const session = newSession(io.env)
    const started = Date.now()
    const resolved = await resolveImage({ image: values.image, tag: positionals[0]! }, { env: io.env, allowPrerelease: values['allow-prerelease'], session })
    io.err(
      `resolved ${resolved.image}:${resolved.tag} -> ${resolved.digest} (${describeMediaType(resolved.mediaType)}, sha256 verified; ` +
        `${session.requests} requests, ${Date.now() - started} ms)\n` +
        resolved.platforms.map(p => `  ${platformName(p).padEnd(16)} ${p.digest}\n`).join(''),
    )
    if (values.json) emitJson(io, resolved)
    return 0
  },
}
