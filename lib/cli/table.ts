/**
 * Listings for a person at a terminal (as `git` and `gh` switch when stdout
 * is one): aligned columns under a header, short CIDs, sizes in KiB/MiB,
 * local relative times, statuses in words. Pipes keep the tab-separated form.
 */
import type { EntryStatus } from '../inspect.js'
import { size } from './format.js'

/** A column: its header, and whether its cells line up on the right (numbers). */
export interface Column {
  header: string
  right?: boolean
}

/** The rows under their headers, each column as wide as its widest cell, two spaces apart. */
export function table (columns: Column[], rows: string[][]): string {
  const widths = columns.map((c, i) => Math.max(c.header.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: string[]): string => cells.map((cell, i) => {
    const w = widths[i] as number
    if (i === cells.length - 1 && columns[i]?.right !== true) return cell
    return columns[i]?.right === true ? cell.padStart(w) : cell.padEnd(w)
  }).join('  ').trimEnd()
  return [line(columns.map((c) => c.header)), ...rows.map(line)].join('\n') + '\n'
}

/** A CID short enough to scan (`bafy…fec5jqee`); the full one is in the tab-separated and JSON forms. */
export function shortCid (cid: string | null): string {
  if (cid === null) return '-'
  return cid.length <= 16 ? cid : `${cid.slice(0, 4)}…${cid.slice(-8)}`
}

/** A size in bytes, or `-`. */
export function sizeText (n: number | null): string {
  return n === null ? '-' : size(n)
}

/** `computed`, `reused` (the value came from the store) or `deleted`. */
export function statusText (status: EntryStatus, imported = false): string {
  const word = status === 'hit' ? 'reused' : status
  return imported ? `${word} (imported)` : word
}

function pad2 (n: number): string {
  return String(n).padStart(2, '0')
}

/** A time in local time, to the minute: `2026-11-27 07:08`. */
export function localTime (ms: number): string {
  const d = new Date(ms)
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}`
}

/** How long ago: `just now`, `3 min ago`, `2 h ago`, `5 days ago`, then the local date and time. */
export function ago (ms: number, now: number = Date.now()): string {
  const s = Math.round((now - ms) / 1000)
  if (s < 0) return localTime(ms)
  if (s < 45) return 'just now'
  const min = Math.round(s / 60)
  if (min < 60) return `${min} min ago`
  const h = Math.round(min / 60)
  if (h < 24) return `${h} h ago`
  const days = Math.round(h / 24)
  if (days < 30) return `${days} day${days === 1 ? '' : 's'} ago`
  return localTime(ms)
}
