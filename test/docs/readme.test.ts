// README.md stays what a newcomer reads first: its command table is exactly
// `clawbake --help` (the same commands, in the same order, with the same
// one-line summaries), each command links to its page, and every relative
// link in README and docs/ points at a file that exists.
import t from 'tap'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { clawbake } from '../support/cli.ts'

const REPO = fileURLToPath(new URL('../..', import.meta.url))
const readme = readFileSync(join(REPO, 'README.md'), 'utf8')

/** `  name   summary` lines of `clawbake --help`, between the usage line and the first blank line after them */
function helpCommands(help: string): { name: string; summary: string }[] {
  const out: { name: string; summary: string }[] = []
  for (const line of help.split('\n')) {
    const m = /^ {2}([a-z][\w-]*) {2,}(\S.*)$/.exec(line)
    if (m) out.push({ name: m[1]!, summary: m[2]!.trim() })
    else if (out.length && !line.trim()) break
  }
  return out
}

/** the rows of README's table under `## Commands`: | [`name`](link) | summary | */
function readmeCommands(text: string): { name: string; link: string; summary: string }[] {
  const section = text.split(/^## /m).find(s => s.startsWith('Commands\n'))
  if (!section) return []
  const rows: { name: string; link: string; summary: string }[] = []
  for (const line of section.split('\n')) {
    if (!line.startsWith('|') || /^\|\s*(command|-+)\s*\|/.test(line)) continue
    const m = /^\|\s*\[`([^`]+)`\]\(([^)]+)\)\s*\|\s*(.*?)\s*\|$/.exec(line)
    rows.push(m ? { name: m[1]!, link: m[2]!, summary: m[3]!.replaceAll('\\|', '|') } : { name: `unparsed row: ${line}`, link: '', summary: '' })
  }
  return rows
}

/** relative link targets ([text](target)), without #anchors; web and mail links left out */
function relativeLinks(text: string): string[] {
  return [...text.matchAll(/\]\(([^)\s]+)\)/g)].map(m => m[1]!).filter(l => !/^[a-z]+:/i.test(l) && !l.startsWith('#')).map(l => l.replace(/#.*$/, ''))
}

t.test('the parsers read what they are given', async t => {
  t.same(helpCommands('usage: x\n\n  a    one thing\n  b-c  two | things\n\nfooter\n  zz  not a command\n'), [{ name: 'a', summary: 'one thing' }, { name: 'b-c', summary: 'two | things' }])
  t.same(readmeCommands('## Commands\n\n| command | does |\n|---|---|\n| [`a`](docs/a.md) | one \\| two |\n| b | plain |\n\n## Next\n| [`z`](z.md) | no |\n'), [
    { name: 'a', link: 'docs/a.md', summary: 'one | two' },
    { name: 'unparsed row: | b | plain |', link: '', summary: '' },
  ])
  t.same(relativeLinks('[a](docs/a.md#x) [b](https://x.test) [c](#top) [d](../d.md)'), ['docs/a.md', '../d.md'])
})

t.test("README's command table is `clawbake --help`", async t => {
  const r = await clawbake(['--help'])
  t.equal(r.code, 0, r.stderr)
  const help = helpCommands(r.stderr)
  t.equal(help.length, 12, `--help lists the 12 commands (${help.map(c => c.name).join(', ')})`)
  const table = readmeCommands(readme)
  t.same(table.map(c => ({ name: c.name, summary: c.summary })), help, 'same commands, same order, same summaries')
  for (const c of table) t.match(c.link, /^docs\/[\w-]+\.md(#[\w-]+)?$/, `${c.name} links to its page under docs/`)
})

t.test('every relative link in README and docs/ resolves to a file', async t => {
  const pages = ['README.md', ...readdirSync(join(REPO, 'docs')).filter(f => f.endsWith('.md')).map(f => `docs/${f}`)]
  let links = 0
  for (const page of pages) {
    for (const link of relativeLinks(readFileSync(join(REPO, page), 'utf8'))) {
      links++
      const target = join(REPO, dirname(page), link)
      t.ok(existsSync(target), `${page}: ${link} -> ${relative(REPO, target)}`)
    }
  }
  t.ok(links > 0)
})

t.test('README is one page: no issue numbers, no history', async t => {
  t.notMatch(readme, /\bissue\s+#?\d+/i)
  t.notMatch(readme, /<!--/)
  t.ok(readme.split('\n').length < 120, `${readme.split('\n').length} lines`)
})
