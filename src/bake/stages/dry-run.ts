// dry-run: what the bake would do from here on; nothing is written.
import { existsSync } from 'node:fs'
import { readPinRecord } from '../../pins/record.ts'
import type { CatalogEntry } from '../../publish/catalog.ts'
import type { ResolvedImage } from '../contract.ts'
import { packerSource } from '../packer.ts'
import { pinnedRef } from './resolve.ts'
import { finish, step } from './stage.ts'

export const dryRun = step('dry-run', async (ctx, { resolve, published }: { resolve: ResolvedImage; published: CatalogEntry | null }) => {
  const { req, tag, channel, paths } = ctx
  if (!req.dryRun) return null
  const plan = [
    `pin      ${pinnedRef(tag, resolve.digest)} into docker-compose.yml, pins.lock.json, CHANGELOG.md${existsSync(paths.pinsLock) && readPinRecord(paths.pinsLock).digest === resolve.digest ? ' (already pinned)' : ''}`,
    'check    hardening policy over packer/files/',
    `validate packer validate -only=${packerSource(req.builder)} (packer/clawbake.pkr.hcl)`,
    `build    packer build -machine-readable -only=${packerSource(req.builder)} with openclaw_image=${pinnedRef(tag, resolve.digest)}` +
      (req.builder === 'null' ? ' (gates: clawbake verify --local on this machine)' : ' (gates inside the VM)'),
    `publish  catalog/${channel}.json${published ? ' (again: --force)' : ''}, catalog/notes/${tag}.md, CHANGELOG.md - only if every gate passes`,
  ]
  ctx.say('dry run: nothing was written. The bake would:')
  for (const p of plan) ctx.say(`  ${p}`)
  return finish({ ...ctx.outcome, ok: true, plan })
})
