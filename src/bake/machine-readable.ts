// Packer's -machine-readable output: one event per line,
//   timestamp,target,type,data...
// with `,` inside data written as `%!(PACKER_COMMA)` and newlines as `\n`.
// https://developer.hashicorp.com/packer/docs/commands#machine-readable-output

export interface PackerEvent {
  timestamp: number
  /** build name (e.g. `null.rehearsal`) or "" for global events */
  target: string
  type: string
  data: string[]
}

export function unescapePackerData(s: string): string {
  return s.replaceAll('%!(PACKER_COMMA)', ',').replaceAll('\\n', '\n').replaceAll('\\r', '\r')
}

export function parsePackerLine(line: string): PackerEvent | null {
  const parts = line.replace(/\r?\n$/, '').split(',')
  if (parts.length < 3) return null
  const [ts, target, type, ...data] = parts
  if (!ts || !/^\d+$/.test(ts) || !type) return null
  return { timestamp: Number(ts), target: target ?? '', type, data: data.map(unescapePackerData) }
}

/**
 * The readable progress line for an event, or null for events that are only
 * bookkeeping (artifact details, counts). `ui` events carry Packer's own text.
 */
export function describePackerEvent(e: PackerEvent): string | null {
  if (e.type === 'ui') {
    const [kind = '', ...rest] = e.data
    const text = rest.join(',').replace(/^\n+/, '').trimEnd()
    if (!text) return null
    return kind === 'error' ? `ERROR ${text}` : text
  }
  if (e.type === 'error' && e.target) return `ERROR ${e.target}: ${e.data.join(',')}`
  return null
}

/** Splits a byte stream into lines (keeps an unfinished last line until more arrives). */
export function lineSplitter(onLine: (line: string) => void): { push(chunk: string): void; end(): void } {
  let buf = ''
  return {
    push(chunk) {
      buf += chunk
      let i: number
      while ((i = buf.indexOf('\n')) >= 0) {
        onLine(buf.slice(0, i))
        buf = buf.slice(i + 1)
      }
    },
    end() {
      if (buf) onLine(buf)
      buf = ''
    },
  }
}
