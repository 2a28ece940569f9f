// openclaw.skills-allowlist: the agent gets only the skills the product
// needs. The product is a single-owner agent that runs shell commands in the
// SSH sandbox through the `exec` tool, driven from Telegram; no skill is part
// of that. OpenClaw ships ~55 bundled skills (1password, github, clawhub,
// skill-creator, ...): instructions for CLIs and services the image does not
// have, or for widening what the agent does (installing skills from ClawHub,
// writing new ones). So the shipped config gives the agents an explicit,
// empty skill allowlist (`agents.defaults.skills: []`, which OpenClaw 2026.7.x
// and 2026.9.x honour for every skill source: bundled, extra, custodian),
// and a skill is only ever enabled when it is on ALLOWED_SKILLS below.
//
// Not `skills.allowBundled`: upstream treats an EMPTY allowBundled as "no
// filter" (every bundled skill allowed), and it does not cover extra or
// workspace skills.
import type { Finding } from './finding.ts'

/** The skills the product needs: none. Add a skill here, with the reason, to allow it. */
export const ALLOWED_SKILLS: readonly string[] = []

type Json = Record<string, unknown>
const obj = (v: unknown): Json | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined)
const escape = (k: string) => k.replace(/~/g, '~0').replace(/\//g, '~1')

/** openclaw.skills-allowlist findings against `allowed` (default: ALLOWED_SKILLS). */
export function skillAllowlist(config: unknown, file: string, allowed: readonly string[] = ALLOWED_SKILLS): Finding[] {
  const out: Finding[] = []
  const fail = (path: string, message: string) => out.push({ rule: 'openclaw.skills-allowlist', file, path, message })
  const ok = new Set(allowed)
  const shown = allowed.length ? `the allowed skills are ${allowed.join(', ')}` : 'the product allows no skill'
  const list = (value: unknown, path: string, required: boolean) => {
    if (value === undefined) {
      if (required) fail(path, `missing: without an explicit skill allowlist every bundled skill is on (${shown}; set it to ${JSON.stringify(allowed)})`)
      return
    }
    if (!Array.isArray(value)) return fail(path, 'must be a list of skill names')
    value.forEach((name, i) => {
      if (typeof name !== 'string' || !ok.has(name)) fail(`${path}/${i}`, `${JSON.stringify(name)} is not an allowed skill (${shown}: src/policy/skills.ts)`)
    })
  }
  const agents = obj(obj(config)?.agents)
  // the default every agent inherits, and any agent's own list (2026.7.x agents.list[], 2026.9.x agents.entries{})
  list(obj(agents?.defaults)?.skills, '/agents/defaults/skills', true)
  const listed = agents?.list
  if (Array.isArray(listed)) listed.forEach((a, i) => list(obj(a)?.skills, `/agents/list/${i}/skills`, false))
  const entries = obj(agents?.entries)
  if (entries) for (const [k, a] of Object.entries(entries)) list(obj(a)?.skills, `/agents/entries/${escape(k)}/skills`, false)
  const skills = obj(obj(config)?.skills)
  list(skills?.allowBundled, '/skills/allowBundled', false)
  const skillEntries = obj(skills?.entries)
  if (skillEntries) {
    for (const [name, entry] of Object.entries(skillEntries)) {
      const e = obj(entry)
      // an entry that turns a skill off is fine; one that turns it on or configures it (enabled omitted = on) is not
      if (e?.enabled === false || ok.has(name)) continue
      fail(`/skills/entries/${escape(name)}${e && 'enabled' in e ? '/enabled' : ''}`, `skill ${JSON.stringify(name)} is enabled or configured but not allowed (${shown}: src/policy/skills.ts)`)
    }
  }
  return out
}
