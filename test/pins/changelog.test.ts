import t from 'tap'
import { pinBullet, withPinBullet } from '../../src/pins/changelog.ts'

const bullet = (tag: string) => pinBullet({ tag, image: 'ghcr.io/openclaw/openclaw', digest: 'sha256:' + 'cd'.repeat(32), date: '2026-11-25', sourceRelease: `https://github.com/openclaw/openclaw/releases/tag/v${tag}` })

const LOG = `# Changelog

Intro.

## [Unreleased]

### Added
- Something
  continued.

## [0.1.0] - 2026-01-01

### Changed
- Old change.
`

t.test('adds a ### Changed subsection at the end of Unreleased, not in a released section', async t => {
  const out = withPinBullet(LOG, bullet('2026.9.6'))
  t.equal(out, LOG.replace('  continued.\n', `  continued.\n\n### Changed\n${bullet('2026.9.6')}\n`))
})

t.test('appends to an existing ### Changed list; same bullet again is no change', async t => {
  const withChanged = LOG.replace('  continued.\n', '  continued.\n\n### Changed\n- Other.\n')
  const out = withPinBullet(withChanged, bullet('2026.9.6'))
  t.match(out, `### Changed\n- Other.\n${bullet('2026.9.6')}\n\n## [0.1.0]`)
  t.equal(withPinBullet(out, bullet('2026.9.6')), out)
})

t.test('a newer pin in the same Unreleased period replaces the older bullet', async t => {
  const first = withPinBullet(LOG, bullet('2026.9.6'))
  const second = withPinBullet(first, bullet('2026.9.7'))
  t.notMatch(second, '2026.9.6')
  t.equal(second.split(bullet('2026.9.7')).length, 2, 'exactly one pin bullet')
  t.match(second, '### Old change'.slice(0, 0) + '- Old change.', 'released sections untouched')
})

t.test('no Unreleased heading or no changelog at all', async t => {
  const noUnreleased = LOG.replace('## [Unreleased]\n\n### Added\n- Something\n  continued.\n\n', '')
  const out = withPinBullet(noUnreleased, bullet('2026.9.6'))
  t.match(out, `Intro.\n\n## [Unreleased]\n\n### Changed\n${bullet('2026.9.6')}\n\n## [0.1.0]`)
  const fresh = withPinBullet(null, bullet('2026.9.6'))
  t.match(fresh, /^# Changelog\n/)
  t.match(fresh, `## [Unreleased]\n\n### Changed\n${bullet('2026.9.6')}\n`)
})
