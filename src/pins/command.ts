// `clawbake pin <tag> [--digest D] [--image REF] [--allow-prerelease] [--json]`:
// resolve (unless --digest is given) and patch compose + pins.lock.json +
// CHANGELOG. Idempotent: the same pin again reports changed:false.
import type { Command } from '../cli/command.ts'
import { commonOptions, parseCommandArgs } from '../cli/args.ts'
import { ClawbakeError } from '../errors.ts'
import { emitJson } from '../io.ts'
import { DIGEST_RE } from '../registry/manifest.ts'
import { OCI_INDEX } from '../registry/media.ts'
import { DEFAULT_IMAGE, parseImageRef } from '../registry/reference.ts'
import { eligibleTag, newSession, resolveImage, type ResolvedImage } from '../registry/resolve.ts'
import { pinRelease } from './pin.ts'

const usage = 'clawbake pin <tag> [--digest sha256:<64hex>] [--image REF] [--allow-prerelease] [--json]'

export const command: Command = {
  name: 'pin',
  summary: 'patch docker-compose.yml + pins lock + CHANGELOG to a verified digest',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs('pin', argv, {
      ...commonOptions,
      digest: { type: 'string' },
      image: { type: 'string', default: DEFAULT_IMAGE },
      'allow-prerelease': { type: 'boolean', default: false },
    }, usage, { min: 1, max: 1 })
    const allowPrerelease = values['allow-prerelease']
    const tag = eligibleTag(positionals[0]!, allowPrerelease)
    let resolved: ResolvedImage
    if (values.digest !== undefined) {
      if (!DIGEST_RE.test(values.digest)) {
        throw new ClawbakeError(`--digest "${values.digest}" is not sha256:<64 lower-case hex>`, { field: '--digest', rule: 'pin.digest-malformed' }, 2)
      }
      const ref = parseImageRef(values.image)
      // not verified against a registry: the lock says so, and the bake re-verifies
      resolved = { image: ref.image, tag, digest: values.digest, mediaType: OCI_INDEX, platforms: [] }
      io.err(`pin: using --digest ${values.digest} as given (not verified against a registry)\n`)
    } else {
      resolved = await resolveImage({ image: values.image, tag }, { env: io.env, allowPrerelease, session: newSession(io.env) })
      io.err(`pin: resolved ${resolved.image}:${resolved.tag} -> ${resolved.digest} (sha256 verified)\n`)
    }
    const result = await pinRelease(resolved, { root: io.cwd, now: io.now(), verified: values.digest === undefined })
    io.err(result.changed
      ? `pin: ${result.tag} ${result.digest} written to ${result.files.join(', ')}\n`
      : `pin: already pinned to ${result.tag} ${result.digest}; nothing changed\n`)
    if (values.json) emitJson(io, result)
    return 0
  },
}
