/**
 * What the inspect queries say of an Arrow table artifact: its row count and
 * schema, and one bounded page of its rows for a viewer (a web page must
 * never receive the whole table). The table is read to know them (the root
 * holds only the IPC bytes).
 */
import type { CID } from 'multiformats/cid'
import type { Store } from '../../store/store.js'
import type { TablePageView, TableView } from './interface.js'
import { cellText } from './rows.js'

/** The codec name of Arrow table artifacts. */
export const ARROW_ENC = 'arrow-ipc'

/** Rows a page may hold at most. */
export const TABLE_PAGE_LIMIT = 500

interface VectorLike {
  get: (index: number) => unknown
}

interface TableLike {
  numRows: number
  schema: { fields: Array<{ name: string, type: unknown, nullable: boolean }> }
  slice: (begin: number, end: number) => TableLike
  getChildAt: (index: number) => VectorLike | null
}

function schemaOf (table: TableLike): TableView {
  return {
    rows: table.numRows,
    columns: table.schema.fields.map((f) => ({ name: f.name, type: String(f.type), nullable: f.nullable }))
  }
}

/** Row count and schema of the artifact when it is an Arrow table (or record batch), else null. */
export async function tableView (store: Store, cid: CID, enc: string): Promise<TableView | null> {
  if (enc !== ARROW_ENC) return null
  return schemaOf(await store.readArtifact(cid) as TableLike)
}

/**
 * Rows `offset` to `offset + limit` of an Arrow table artifact, each cell as
 * text (null for a missing value; structured cells as one-line JSON), with
 * the schema and row count; null when the artifact is not a table. Cells
 * are read by column position, never through row objects keyed by column
 * name, so a column named `__proto__` is just a column.
 *
 * @example
 * const page = await tablePage(store, cid, 'arrow-ipc', { offset: 0, limit: 20 })
 * page?.cells[0] // ['paris', '12.5']
 */
export async function tablePage (store: Store, cid: CID, enc: string, options: { offset?: number, limit?: number } = {}): Promise<TablePageView | null> {
  const offset = options.offset ?? 0
  const limit = options.limit ?? 50
  if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError('offset must be a non-negative integer')
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > TABLE_PAGE_LIMIT) throw new RangeError(`limit must be an integer from 1 to ${TABLE_PAGE_LIMIT}`)
  if (enc !== ARROW_ENC) return null
  const table = await store.readArtifact(cid) as TableLike
  const part = table.slice(offset, Math.min(table.numRows, offset + limit))
  const columns = table.schema.fields.map((_, i) => part.getChildAt(i))
  const cells: Array<Array<string | null>> = []
  for (let r = 0; r < part.numRows; r++) {
    cells.push(columns.map((vec) => {
      const v = vec?.get(r)
      return v === null || v === undefined ? null : cellText(v)
    }))
  }
  return { ...schemaOf(table), offset, cells }
}
