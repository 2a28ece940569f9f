// The real stages: watch (issue 2), resolve + pin (issue 3), check (issue 4),
// loaded only when the bake gets to them, so `clawbake bake --help` loads no
// registry or GitHub code. Typed against the modules themselves, so a drift
// from the contract (contract.ts) is a type error here.
import { envError } from '../errors.ts'
import type { BakeStages } from './contract.ts'

async function load<T>(what: string, file: string, importer: () => Promise<T>): Promise<T> {
  try {
    return await importer()
  } catch (e) {
    throw envError(`cannot load ${what} from ${file}: ${(e as Error).message}`, { file, rule: 'bake.stage-missing' }, e)
  }
}

export const realStages: BakeStages = {
  async watch(opts) {
    const m = await load('watchReleases', 'src/watch/watch.ts', () => import('../watch/watch.ts'))
    return m.watchReleases(opts)
  },
  async resolve(req, opts) {
    const m = await load('resolveImage', 'src/registry/resolve.ts', () => import('../registry/resolve.ts'))
    return m.resolveImage(req, opts)
  },
  async pin(resolved, opts) {
    const m = await load('pinRelease', 'src/pins/pin.ts', () => import('../pins/pin.ts'))
    return m.pinRelease(resolved, opts)
  },
  async check(opts) {
    const m = await load('checkArtifacts', 'src/policy/check.ts', () => import('../policy/check.ts'))
    return m.checkArtifacts(opts)
  },
}
