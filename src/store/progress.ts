// Progress of a long transfer on stderr: a bar with rate and ETA redrawn in
// place on a terminal (at most 10 times a second), plain lines at every 10 %
// otherwise (CI logs, pipes).
import type { Io } from '../io.ts'

const MIB = 1 << 20

export interface Progress {
  update(done: number): void
  end(): void
}

function eta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--'
  const s = Math.round(seconds)
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`
}

export function progress(io: Pick<Io, 'err' | 'tty'>, label: string, total: number, from = 0): Progress {
  const t0 = Date.now()
  let lastDraw = 0
  let lastStep = Math.floor((from / Math.max(total, 1)) * 10)
  let last = from
  const line = (done: number) => {
    const secs = Math.max((Date.now() - t0) / 1000, 0.001)
    const rate = (done - from) / secs
    const pct = total ? Math.floor((done / total) * 100) : 100
    return { pct, text: `${(done / MIB).toFixed(0)}/${(total / MIB).toFixed(0)} MiB, ${(rate / MIB).toFixed(1)} MiB/s, ETA ${eta((total - done) / rate)}` }
  }
  return {
    update(done) {
      last = done
      const { pct, text } = line(done)
      if (io.tty) {
        if (Date.now() - lastDraw < 100 && done < total) return
        lastDraw = Date.now()
        const width = 30
        const fill = Math.round((pct / 100) * width)
        io.err(`\r${label} [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${String(pct).padStart(3)}% ${text}\x1b[K`)
        return
      }
      const step = Math.floor(pct / 10)
      if (step > lastStep) {
        lastStep = step
        io.err(`${label}: ${pct}% ${text}\n`)
      }
    },
    end() {
      if (io.tty) {
        this.update(last)
        io.err('\n')
      }
    },
  }
}
