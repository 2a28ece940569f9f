// A policy finding: which rule, in which file, where in it, and what is wrong.
// The shape is fixed by the cross-module contract (`clawbake check --json`).

export interface Finding {
  rule: string
  /** path relative to the project root when inside it, else absolute */
  file: string
  /** JSON pointer (`/gateway/bind`) for structured files, `line N` for text, `/` for the whole file */
  path: string
  message: string
}

export interface CheckReport {
  ok: boolean
  findings: Finding[]
}

/** Drop exact repeats (same rule at the same place), keeping the first message. */
export function uniqueFindings(findings: Finding[]): Finding[] {
  const seen = new Set<string>()
  return findings.filter(f => {
    const key = `${f.rule}\0${f.file}\0${f.path}`
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}
