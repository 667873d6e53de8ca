/**
 * A progress bar on stderr, drawn only when stderr is a terminal, at most ten
 * times a second, and erased when done.
 */
import { size } from './format.js'

export interface Progress {
  update (done: number, total?: number, label?: string): void
  done (): void
}

const NONE: Progress = { update () {}, done () {} }

/**
 * A bar for byte counts: `export  [#########           ]  45%  460 MiB / 1.0 GiB  310 MiB/s`.
 */
export function progressBar (label: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (stream.isTTY !== true) return NONE
  const start = performance.now()
  let last = 0
  let drawn = false
  return {
    update (done, total, phase) {
      const now = performance.now()
      if (now - last < 100) return
      last = now
      const width = Math.max(10, Math.min(30, (stream.columns ?? 80) - 60))
      const rate = done / Math.max(0.001, (now - start) / 1000)
      let text = `${(phase ?? label).padEnd(8)} `
      if (total !== undefined && total > 0) {
        const f = Math.min(1, done / total)
        const full = Math.round(f * width)
        text += `[${'#'.repeat(full)}${' '.repeat(width - full)}] ${String(Math.floor(f * 100)).padStart(3)}%  ${size(done)} / ${size(total)}`
      } else {
        text += size(done)
      }
      text += `  ${size(Math.round(rate))}/s`
      stream.write(`\r${text}\x1b[K`)
      drawn = true
    },
    done () {
      if (drawn) stream.write('\r\x1b[K')
      drawn = false
    }
  }
}
