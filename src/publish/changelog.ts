// The CHANGELOG.md entry for a published image (Keep a Changelog): a bullet
// under `## [Unreleased]` / `### Changed` (`### Security` for a critical
// release), added once per tag and digest.
import type { CatalogEntry } from './catalog.ts'
import type { Channel } from '../releases/version.ts'

export function changelogMarker(entry: { tag: string; digest: string }, channel: Channel): string {
  return `<!-- clawbake-published: ${channel} ${entry.tag} ${entry.digest} -->`
}

export function changelogBullet(entry: CatalogEntry, channel: Channel): string {
  const passed = entry.gates.gates.filter(g => g.ok).length
  return `- Published the ${channel} golden image for OpenClaw ${entry.tag} (\`${entry.digest}\`, ${entry.artifact.builder} ${entry.artifact.id}; ` +
    `${passed}/${entry.gates.gates.length} gates passed; time to patch ${entry.timeToPatchHours} h; notes: ${entry.notes ?? `catalog/notes/${entry.tag}.md`}). ${changelogMarker(entry, channel)}`
}

/** `text` with the bullet added (unchanged if this tag+digest is already there). */
export function addChangelogEntry(text: string, entry: CatalogEntry, channel: Channel): string {
  if (text.includes(changelogMarker(entry, channel))) return text
  const heading = entry.urgency === 'critical' ? '### Security' : '### Changed'
  const bullet = changelogBullet(entry, channel)
  const lines = text.split('\n')
  let start = lines.findIndex(l => /^## \[Unreleased\]/i.test(l))
  if (start < 0) {
    // no Unreleased section: add one after the title block (first `## ` heading or end)
    const firstRelease = lines.findIndex(l => l.startsWith('## '))
    const at = firstRelease < 0 ? lines.length : firstRelease
    lines.splice(at, 0, '## [Unreleased]', '')
    start = at
  }
  let end = lines.findIndex((l, i) => i > start && l.startsWith('## '))
  if (end < 0) end = lines.length
  const h = lines.findIndex((l, i) => i > start && i < end && l.trim() === heading)
  if (h >= 0) {
    // end of that list: next heading within the section, or section end; skip trailing blanks
    let listEnd = lines.findIndex((l, i) => i > h && i < end && /^#{2,3} /.test(l))
    if (listEnd < 0) listEnd = end
    let at = listEnd
    while (at > h + 1 && lines[at - 1]?.trim() === '') at--
    lines.splice(at, 0, bullet)
  } else {
    let at = end
    while (at > start + 1 && lines[at - 1]?.trim() === '') at--
    lines.splice(at, 0, '', heading, bullet)
  }
  return lines.join('\n')
}
