// The CHANGELOG line a pin writes (Keep a Changelog): one bullet under
// `## [Unreleased]` / `### Changed`. A later pin in the same unreleased period
// replaces the earlier pin's bullet (only the last one ships); the same pin
// again changes nothing.

export const PIN_BULLET_PREFIX = '- Pinned OpenClaw '

export function pinBullet(p: { tag: string; image: string; digest: string; date: string; sourceRelease: string }): string {
  return `${PIN_BULLET_PREFIX}${p.tag} (\`${p.image}@${p.digest}\`), resolved ${p.date}; release: ${p.sourceRelease}`
}

const isH2 = (l: string) => /^## /.test(l)
const isH3 = (l: string) => /^### /.test(l)

const SKELETON = '# Changelog\n\nAll notable changes are recorded here. The format follows\n[Keep a Changelog](https://keepachangelog.com/en/1.1.0/).\n'

/** `text` (CHANGELOG.md, or null when there is none) with `bullet` in Unreleased. */
export function withPinBullet(text: string | null, bullet: string): string {
  const eol = text?.includes('\r\n') ? '\r\n' : '\n'
  const lines = (text ?? SKELETON).split(/\r?\n/)
  const start = lines.findIndex(l => /^## \[?Unreleased\]?/i.test(l))
  if (start < 0) {
    const firstH2 = lines.findIndex(isH2)
    const at = firstH2 < 0 ? lines.length : firstH2
    const block = ['## [Unreleased]', '', '### Changed', bullet, '']
    if (at > 0 && lines[at - 1] !== '') block.unshift('')
    lines.splice(at, 0, ...block)
    return lines.join(eol)
  }
  let end = lines.findIndex((l, i) => i > start && isH2(l))
  if (end < 0) end = lines.length

  const existing = lines.findIndex((l, i) => i > start && i < end && l.startsWith(PIN_BULLET_PREFIX))
  if (existing >= 0) {
    // replace the bullet and its continuation lines
    let stop = existing + 1
    while (stop < end && /^\s+\S/.test(lines[stop]!)) stop++
    lines.splice(existing, stop - existing, bullet)
    return lines.join(eol)
  }

  const changed = lines.findIndex((l, i) => i > start && i < end && /^### Changed\s*$/.test(l))
  if (changed >= 0) {
    let last = changed
    for (let i = changed + 1; i < end && !isH3(lines[i]!); i++) if (lines[i]!.trim() !== '') last = i
    lines.splice(last + 1, 0, bullet)
    return lines.join(eol)
  }
  // no `### Changed` yet: add it at the end of the Unreleased section
  let last = start
  for (let i = start + 1; i < end; i++) if (lines[i]!.trim() !== '') last = i
  lines.splice(last + 1, 0, '', '### Changed', bullet)
  return lines.join(eol)
}
