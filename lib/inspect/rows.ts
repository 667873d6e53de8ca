/**
 * Tabular values as rows: an Arrow table (found by its shape, without
 * loading apache-arrow) or an array of plain row objects, written as CSV or
 * JSON lines row by row (what `dds cat --format` prints and the web view
 * downloads), and one bounded page of them for a viewer.
 */
import { jsonPieces } from './json-text.js'

/** Named columns and their rows, in order. */
export interface RowSource {
  columns: string[]
  count: number
  rows (): Iterable<Record<string, unknown>>
}

interface TableLike {
  numRows: number
  schema: { fields: Array<{ name: string }> }
  [Symbol.iterator] (): Iterator<{ toJSON (): Record<string, unknown> } | null>
}

function isTableLike (v: unknown): v is TableLike {
  const x = v as Partial<TableLike> | null
  return x !== null && typeof x === 'object' && typeof x.numRows === 'number' && Array.isArray(x.schema?.fields) && typeof x[Symbol.iterator] === 'function'
}

function isPlainObject (v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object') return false
  const proto = Object.getPrototypeOf(v)
  return proto === Object.prototype || proto === null
}

/** The rows of a table or of an array of plain objects (columns: every key, in order of first appearance); undefined for other values. */
export function rowSource (value: unknown): RowSource | undefined {
  if (isTableLike(value)) {
    return {
      columns: value.schema.fields.map((f) => f.name),
      count: value.numRows,
      * rows () { for (const row of value) yield row === null ? {} : row.toJSON() }
    }
  }
  if (Array.isArray(value) && value.every(isPlainObject)) {
    const seen = new Set<string>()
    for (const row of value) for (const k of Object.keys(row)) seen.add(k)
    return { columns: [...seen], count: value.length, rows: () => value }
  }
  return undefined
}

/** A cell as plain data: Arrow lists and structs by their toJSON (Date and typed arrays stay as they are). */
function plainCell (v: unknown): unknown {
  if (v !== null && typeof v === 'object' && !(v instanceof Date) && !ArrayBuffer.isView(v) && typeof (v as { toJSON?: unknown }).toJSON === 'function') {
    return plainCell((v as { toJSON (): unknown }).toJSON())
  }
  if (Array.isArray(v)) return v.map(plainCell)
  return v
}

function jsonText (v: unknown): string {
  return [...jsonPieces(plainCell(v))].join('').replace(/\n\s*/g, ' ')
}

/** A cell as text: empty for null, strings as they are, anything structured as one-line JSON. */
export function cellText (v: unknown): string {
  if (v === null || v === undefined) return ''
  if (typeof v === 'string') return v
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v)
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? '' : v.toISOString()
  return jsonText(v)
}

function csvField (s: string): string {
  return /[",\r\n]/.test(s) || s !== s.trim() ? `"${s.replace(/"/g, '""')}"` : s
}

/** CSV (RFC 4180) with a header line, in pieces of a few hundred rows. */
export function * csvPieces (src: RowSource): Generator<string> {
  let buf = src.columns.map(csvField).join(',') + '\n'
  for (const row of src.rows()) {
    buf += src.columns.map((c) => csvField(cellText(row[c]))).join(',') + '\n'
    if (buf.length >= 1 << 16) { yield buf; buf = '' }
  }
  yield buf
}

/** One JSON object per row. */
export function * jsonlPieces (src: RowSource): Generator<string> {
  let buf = ''
  for (const row of src.rows()) {
    const out: Record<string, unknown> = {}
    for (const c of src.columns) out[c] = plainCell(row[c])
    buf += jsonText(out) + '\n'
    if (buf.length >= 1 << 16) { yield buf; buf = '' }
  }
  yield buf
}

