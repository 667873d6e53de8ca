/**
 * Tabular values for `dds cat`: the rows themselves come from
 * lib/inspect/rows.ts (shared with the web view); here, the first rows
 * previewed as aligned columns on a terminal.
 */
import { cellText, type RowSource } from '../inspect/rows.js'
import { table, type Column } from './table.js'

export { cellText, csvPieces, jsonlPieces, rowSource, type RowSource } from '../inspect/rows.js'

/** The first rows aligned under the column names (numbers on the right), and how many there are. */
export function preview (src: RowSource, n = 20): string {
  const shown: string[][] = []
  const numeric = src.columns.map(() => true)
  for (const row of src.rows()) {
    if (shown.length === n) break
    shown.push(src.columns.map((c, i) => {
      const v = row[c]
      if (v !== null && v !== undefined && typeof v !== 'number' && typeof v !== 'bigint') numeric[i] = false
      const text = cellText(v)
      return text.length > 40 ? text.slice(0, 39) + '…' : text
    }))
  }
  const columns: Column[] = src.columns.map((header, i) => ({ header, right: numeric[i] === true }))
  const more = src.count > shown.length ? `, first ${shown.length} shown` : ''
  return table(columns, shown) + `(${src.count} rows, ${src.columns.length} columns${more})\n`
}
