// no-secret-left: after the gates ran, the avots key and the gateway token of
// this run appear in no file under OpenClaw's state dir, its logs, the
// sandbox, or (in the VM) the filesystem that will be captured, and in no
// output OpenClaw printed. Files are searched as bytes (SQLite, JSONL, logs).
import { lstatSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { OpenclawHost } from './host.ts'
import { fail, pass, type Verdict } from './gate.ts'

export interface Secret {
  name: string
  value: string
}

const MAX_FILE = 512 * 1024 * 1024

export function findSecrets(paths: string[], secrets: Secret[]): { hits: string[]; files: number; unreadable: string[] } {
  const needles = secrets.filter(s => s.value.length >= 8).map(s => ({ name: s.name, bytes: Buffer.from(s.value) }))
  const hits: string[] = []
  const unreadable: string[] = []
  let files = 0
  const visit = (p: string) => {
    let st
    try { st = lstatSync(p) } catch { return }
    if (st.isSymbolicLink()) return
    if (st.isDirectory()) {
      let names: string[] = []
      try { names = readdirSync(p) } catch { unreadable.push(p); return }
      for (const n of names) visit(join(p, n))
      return
    }
    if (!st.isFile() || st.size > MAX_FILE) return
    let data: Buffer
    try { data = readFileSync(p) } catch { unreadable.push(p); return }
    files++
    for (const n of needles) if (data.includes(n.bytes)) hits.push(`${n.name} in ${p}`)
  }
  for (const p of paths) visit(p)
  return { hits, files, unreadable }
}

export async function noSecretLeft(host: OpenclawHost, secrets: Secret[]): Promise<Verdict> {
  const { paths, outputs } = await host.leftovers()
  const { hits, files, unreadable } = findSecrets(paths, secrets)
  for (const o of outputs) for (const s of secrets) if (s.value.length >= 8 && o.text.includes(s.value)) hits.push(`${s.name} in the output of \`${o.name}\``)
  const scope = `${files} file(s) under ${paths.join(', ')} and ${outputs.length} process output(s)${unreadable.length ? `; unreadable: ${unreadable.slice(0, 5).join(', ')}` : ''}`
  if (hits.length) return fail(`${hits.join('; ')} (searched ${scope})`)
  return pass(`${secrets.map(s => s.name).join(' and ')} found nowhere in ${scope}`)
}
