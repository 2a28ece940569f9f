// Install the OpenClaw CLI the tests and `verify --local` run: the pinned
// version (pins.lock.json) unless versions are given. Prints where it is.
import { ensureOpenclaw } from '../src/openclaw/runtime.ts'
import { readPinRecord } from '../src/pins/record.ts'
import { projectPaths } from '../src/paths.ts'

const versions = process.argv.slice(2)
if (versions.length === 0) versions.push(readPinRecord(projectPaths(process.cwd()).pinsLock).tag)
for (const v of versions) {
  const t0 = Date.now()
  const rt = await ensureOpenclaw(v)
  process.stderr.write(`openclaw@${rt.version}: ${rt.entry} (node ${rt.node}) in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`)
}
