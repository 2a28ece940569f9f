// Which sockets a set of processes listens on, read from /proc (Linux): the
// socket inodes in /proc/<pid>/fd matched against /proc/net/{tcp,udp}[6].
import { readFileSync, readdirSync, readlinkSync } from 'node:fs'
import type { Listener } from './host.ts'

/** `pid` and all its descendants. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>()
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      const list = children.get(ppid) ?? []
      list.push(Number(name))
      children.set(ppid, list)
    } catch { /* exited meanwhile */ }
  }
  const out: number[] = []
  const queue = [root]
  while (queue.length) {
    const pid = queue.shift()!
    out.push(pid)
    queue.push(...(children.get(pid) ?? []))
  }
  return out
}

function ipv4(hex: string): string {
  const n = Buffer.from(hex, 'hex')
  return [n[3], n[2], n[1], n[0]].join('.')
}

function ipv6(hex: string): string {
  // /proc/net/*6 prints the address as four host-endian (little-endian) 32-bit words
  const bytes = Buffer.concat([0, 1, 2, 3].map(i => Buffer.from(hex.slice(i * 8, i * 8 + 8), 'hex').reverse()))
  if (bytes.subarray(0, 10).every(b => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) return `::ffff:${[...bytes.subarray(12)].join('.')}`
  const words = [0, 1, 2, 3, 4, 5, 6, 7].map(i => bytes.readUInt16BE(i * 2))
  let best = -1, bestLen = 0
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) { i++; continue }
    let j = i
    while (j < 8 && words[j] === 0) j++
    if (j - i > bestLen && j - i > 1) { best = i; bestLen = j - i }
    i = j
  }
  const hexes = words.map(w => w.toString(16))
  if (best < 0) return hexes.join(':')
  return `${hexes.slice(0, best).join(':')}::${hexes.slice(best + bestLen).join(':')}`
}

/** Sockets in LISTEN (tcp) or bound (udp) state held by any of `pids`. */
export function listenersOf(pids: number[]): Listener[] {
  const owner = new Map<string, { pid: number; command: string }>()
  for (const pid of pids) {
    let command = ''
    try { command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).slice(0, 4).join(' ') } catch { continue }
    let fds: string[] = []
    try { fds = readdirSync(`/proc/${pid}/fd`) } catch { continue }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))
        if (m) owner.set(m[1]!, { pid, command })
      } catch { /* closed meanwhile */ }
    }
  }
  const out: Listener[] = []
  // the socket tables of the processes' own network namespace (a container's is not this process's)
  const netns = pids.find(pid => { try { readdirSync(`/proc/${pid}/net`); return true } catch { return false } })
  for (const proto of ['tcp', 'tcp6', 'udp', 'udp6'] as const) {
    let table = ''
    try { table = readFileSync(netns ? `/proc/${netns}/net/${proto}` : `/proc/net/${proto}`, 'utf8') } catch { continue }
    for (const line of table.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/)
      if (f.length < 10) continue
      const [addrHex, portHex] = (f[1] ?? '').split(':')
      const state = f[3]
      const inode = f[9] ?? ''
      const listening = proto.startsWith('tcp') ? state === '0A' : state === '07'
      const who = owner.get(inode)
      if (!listening || !who || !addrHex || !portHex) continue
      out.push({ proto, address: proto.endsWith('6') ? ipv6(addrHex) : ipv4(addrHex), port: parseInt(portHex, 16), pid: who.pid, command: who.command })
    }
  }
  return out
}

export function isLoopback(address: string): boolean {
  return /^127\./.test(address) || address === '::1' || /^::ffff:127\./.test(address)
}
