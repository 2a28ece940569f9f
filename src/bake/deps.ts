// The real in-process stages the bake calls (BakeDeps.stages): watch,
// resolve, pin, check.
// Typed against the modules themselves, so a drift from the contract
// (contract.ts) is a type error here. `clawbake bake` is itself loaded only
// when called (src/cli.ts), so these imports cost nothing to other commands.
import { watchReleases } from '../watch/watch.ts'
import { resolveImage } from '../registry/resolve.ts'
import { pinRelease } from '../pins/pin.ts'
import { checkArtifacts } from '../policy/check.ts'
import type { BakeStages } from './contract.ts'

export const realStages: BakeStages = {
  watch: watchReleases,
  resolve: resolveImage,
  pin: pinRelease,
  check: checkArtifacts,
}
