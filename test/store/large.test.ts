// The 1 GiB case, once: a real qcow2 of 1 GiB (random data in 640 MiB of
// it) pushed in 32 MiB chunks to the real docker-registry with token auth
// (push scope) and pulled back through the CLI, byte for byte. One push and
// one pull only: it is the slow test.
import t from 'tap'
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describeDisk } from '../../src/store/disk-image.ts'
import { publishImage } from '../../src/publish/publish.ts'
import { startRegistry } from '../support/registry.ts'
import { makeQcow2 } from '../support/disk.ts'
import { tempTree } from '../support/tree.ts'
import { cli, publishInput, pushEnv } from './helpers.ts'
import { mkdirSync, renameSync } from 'node:fs'

t.test('1 GiB qcow2: chunked push, verified; pull, verified, identical', async t => {
  const reg = await startRegistry(t, { auth: 'token' })
  const root = tempTree(t)
  const scratch = mkdtempSync(join(tmpdir(), 'clawbake-1g-'))
  t.teardown(() => rmSync(scratch, { recursive: true, force: true }))
  const made = await makeQcow2(scratch, 'clawbake', { mib: 1024, randomMib: 640 })
  const dir = join(root, '.clawbake', 'artifacts', '2026.9.6-big')
  mkdirSync(dir, { recursive: true })
  renameSync(made, join(dir, 'clawbake.qcow2'))
  const disk = await describeDisk(join(dir, 'clawbake.qcow2'))
  t.ok(disk.size >= 1 << 30, `a 1 GiB qcow2 (${disk.size} bytes)`)
  let updates = 0
  const r = await publishImage(publishInput(root, '2026.9.6-big', disk.sha256, disk.size, {
    imageRepo: `${reg.host}/owner/clawbake-images`, bootTestPassed: true, env: pushEnv(reg, { CLAWBAKE_PUSH_CHUNK_MB: '32' }),
    onProgress: () => { updates++ },
  }))
  t.ok(r.moved)
  t.ok(updates >= 32, `acknowledged chunk by chunk (${updates} progress updates)`)
  t.equal(r.push?.bytesSent, disk.layerSize + r.push!.image.config.length + r.push!.image.manifest.length, 'every byte sent once')
  const out = join(scratch, 'pulled.qcow2')
  const pulled = await cli(root, ['image', 'pull', 'stable', '--out', out, '--json'])
  t.equal(pulled.code, 0, pulled.stderr)
  t.equal(pulled.json().sha256, disk.sha256)
  t.equal(statSync(out).size, disk.size)
  t.equal((await describeDisk(out)).sha256, disk.sha256, 'the bytes on disk are the pushed bytes')
})
