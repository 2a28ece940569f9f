// `clawbake bake`'s qemu and rehearsal options, refused before anything
// starts: one clear error naming the rule, exit 2 (usage), nothing written;
// and a base image whose checksum differs, refused before any VM boots.
import t from 'tap'
import { existsSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { clawbake } from '../support/cli.ts'
import { bakeTree, pinnedDigest, snapshot, testKey } from './helpers.ts'

const refusals: [string[], RegExp][] = [
  [['--builder', 'null', '--rehearsal'], /--rehearsal is a qemu bake/],
  [['--rehearsal', '--dry-run'], /--rehearsal cannot be a --dry-run/],
  [['--rehearsal-avots', 'text'], /--rehearsal-avots needs --rehearsal/],
  [['--rehearsal', '--rehearsal-avots', 'silly'], /--rehearsal-avots must be tool or text/],
  [['--rehearsal', '--rehearsal-gates', 'owner-exec,no-such-gate'], /unknown gate id\(s\) in --rehearsal-gates: no-such-gate/],
  [['--rehearsal-gates', 'owner-exec'], /--rehearsal-gates needs --rehearsal/],
  [['--base', 'windows-95'], /--base must be one of ubuntu-24\.04, debian-13, debian-13-mmdebstrap/],
  [['--base-image', '/tmp/x.qcow2'], /--base-image and --base-checksum go together/],
  [['--base-image', '/tmp/x.qcow2', '--base-checksum', 'md5:abc'], /--base-checksum must be sha256:/],
  [['--base', 'debian-13', '--base-image', '/tmp/x.qcow2', '--base-checksum', `sha256:${'a'.repeat(64)}`], /give --base or --base-image, not both/],
]

for (const [args, message] of refusals) {
  t.test(`refused: ${args.join(' ')}`, async t => {
    const root = bakeTree(t)
    const before = snapshot(root)
    const r = await clawbake(['bake', '--tag', '2026.9.6', ...args, '--json'], { cwd: root, env: { CLAWBAKE_ROOT: root, AVOTS_API_KEY: testKey() } })
    t.equal(r.code, 2, r.stderr)
    t.match(r.stderr, message)
    t.same([...snapshot(root)], [...before], 'nothing written')
  })
}

t.test('a local base image whose sha256 differs is refused before any VM boots', async t => {
  const root = bakeTree(t)
  const image = join(root, 'base.qcow2')
  writeFileSync(image, 'not the image the checksum names\n')
  const r = await clawbake(['bake', '--tag', '2026.9.6', '--digest', pinnedDigest(root), '--base-image', image, '--base-checksum', `sha256:${'0'.repeat(64)}`, '--json'], {
    cwd: root,
    env: { CLAWBAKE_ROOT: root, AVOTS_API_KEY: testKey(), CLAWBAKE_ACCELERATOR: 'tcg' },
  })
  t.equal(r.code, 1, r.stderr.slice(-2000))
  const out = r.json()
  t.equal(out.error.rule, 'bake.base-checksum')
  t.match(out.error.message, /has sha256:[0-9a-f]{64}, not the expected sha256:0{64}: refused before boot/)
  t.equal(out.stages.at(-1)?.stage, 'check', 'stopped in prepare, after check: Packer never ran')
  t.notOk(existsSync(join(root, 'catalog', 'stable.json')))
  const runs = readdirSync(join(root, '.clawbake', 'bake'))
  t.notOk(runs.some(d => existsSync(join(root, '.clawbake', 'bake', d, 'serial.log'))), 'no VM was started')
})
