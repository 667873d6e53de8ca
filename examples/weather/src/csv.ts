import { readFileSync } from 'node:fs'

/** One line of the weather CSV, as text fields. */
export type RawRow = Record<string, string>

/** Parse a small, well-formed CSV (no quoted fields) into rows keyed by header. */
export function parseCsv (text: string): RawRow[] {
  const lines = text.split(/\r?\n/).filter((line) => line.trim() !== '')
  const header = (lines.shift() ?? '').split(',')
  return lines.map((line) => {
    const cells = line.split(',')
    const row: RawRow = {}
    header.forEach((name, i) => { row[name] = cells[i] ?? '' })
    return row
  })
}

/**
 * Read and parse the CSV at `file`. Kept, it re-runs when the file's content
 * changes (dds-ts records the read), not when it is only touched.
 */
export function readCsv (file: string): RawRow[] {
  return parseCsv(readFileSync(file, 'utf8'))
}
