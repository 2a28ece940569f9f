// Release notes for a published image: catalog/notes/<tag>.md, Markdown a
// person reads before rolling the image out (or back).
import type { CatalogEntry, CatalogEvent } from './catalog.ts'
import type { Channel } from '../releases/version.ts'

export function notesPath(tag: string): string {
  return `catalog/notes/${tag}.md`
}

export function renderNotes(entry: CatalogEntry, ctx: { channel: Channel; releaseUrl: string | null; advisories: { ghsaId: string; cveId: string | null; severity: string }[]; previous: CatalogEntry | null; revocations: CatalogEvent[] }): string {
  const lines: string[] = []
  lines.push(`# OpenClaw ${entry.tag}: golden image (${ctx.channel})`, '')
  lines.push(...revocationLines(ctx.revocations))
  if (entry.store) {
    lines.push(`- Disk image: \`${entry.store.reference}\` (qcow2 sha256 \`${entry.store.sha256}\`, ${entry.store.sizeBytes} bytes; verified ${entry.store.verifiedAt})`)
    lines.push(`- Pull it: \`clawbake image pull ${entry.store.tag}\`${entry.held ? ` (held: the ${ctx.channel} channel did not move to it; \`clawbake channel set ${ctx.channel} ${entry.store.tag} --reason ...\` after a boot test)` : ''}`)
  } else if (entry.held) {
    lines.push(`- Held: the qcow2 is not in the image store yet (\`clawbake image push --bake-id ${entry.bakeId}\`); the ${ctx.channel} channel did not move to it`)
  }
  lines.push(`- Image: \`ghcr.io/openclaw/openclaw:${entry.tag}@${entry.digest}\``)
  if (entry.platforms.length) lines.push(`- Platforms: ${entry.platforms.map(p => `${p.os}/${p.architecture}${p.variant ? '/' + p.variant : ''} \`${p.digest}\``).join(', ')}`)
  lines.push(`- Upstream release: ${ctx.releaseUrl ? `[${entry.tag}](${ctx.releaseUrl})` : entry.tag}, published ${entry.releasedAt}`)
  lines.push(`- Urgency: ${entry.urgency ?? 'none recorded'}`)
  lines.push(`- Artifact: ${entry.artifact.builder} \`${entry.artifact.id}\`${entry.artifact.sha256 ? `, sha256 \`${entry.artifact.sha256}\`` : ''}${entry.artifact.sizeBytes !== null ? `, ${entry.artifact.sizeBytes} bytes` : ''}`)
  lines.push(`- Bake started ${entry.bakeStartedAt}, published ${entry.publishedAt}: time to patch ${entry.timeToPatchHours} h`, '')
  if (ctx.advisories.length) {
    lines.push('## Advisories fixed', '')
    for (const a of ctx.advisories) lines.push(`- ${a.ghsaId}${a.cveId ? ` (${a.cveId})` : ''}: ${a.severity}`)
    lines.push('')
  }
  lines.push(`## Gates (OpenClaw ${entry.gates.openclawVersion}): ${entry.gates.gates.filter(g => g.ok).length}/${entry.gates.gates.length} passed`, '')
  lines.push('| gate | result | ms | detail |', '|---|---|---|---|')
  for (const g of entry.gates.gates) lines.push(`| ${g.id} | ${g.ok ? 'pass' : 'FAIL'} | ${Math.round(g.ms)} | ${g.detail.replace(/\|/g, '\\|').replace(/\n/g, ' ')} |`)
  lines.push('')
  lines.push('## Rollback', '')
  if (ctx.previous?.store) {
    lines.push(`The previous ${ctx.channel} image is OpenClaw ${ctx.previous.tag} (\`${ctx.previous.store.reference}\`). ` +
      `To roll back: \`clawbake channel set ${ctx.channel} ${ctx.previous.store.tag} --reason "..."\`; to withdraw this one: \`clawbake revoke ${entry.store?.tag ?? entry.tag} --reason "..."\` (the channel falls back to the newest image not revoked).`)
  } else if (ctx.previous) {
    lines.push(`The previous ${ctx.channel} image is OpenClaw ${ctx.previous.tag} (\`${ctx.previous.digest}\`, ${ctx.previous.artifact.builder} \`${ctx.previous.artifact.id}\`). ` +
      `To roll back, re-publish that entry: \`clawbake bake --tag ${ctx.previous.tag} --force\` appends it again as the channel's current image; entries are never deleted.`)
  } else {
    lines.push('This is the first image published on this channel: there is nothing to roll back to.')
  }
  lines.push('')
  return lines.join('\n')
}

/** The REVOKED banner of a release note (newest revocation first). */
export function revocationLines(revocations: CatalogEvent[]): string[] {
  if (!revocations.length) return []
  return [
    ...[...revocations].reverse().map(r => `> **REVOKED** ${r.at} by ${r.who}: ${r.reason.replace(/\n/g, ' ')} (\`${r.manifestDigest ?? r.tag}\`)`),
    '',
  ]
}
