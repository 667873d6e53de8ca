/**
 * What the inspect queries say of an Arrow table artifact: its row count and
 * schema. The table is read to know them (the root holds only the IPC bytes).
 */
import type { CID } from 'multiformats/cid'
import type { Store } from '../../store/store.js'
import type { TableView } from './interface.js'

/** The codec name of Arrow table artifacts. */
export const ARROW_ENC = 'arrow-ipc'

interface TableLike {
  numRows: number
  schema: { fields: Array<{ name: string, type: unknown, nullable: boolean }> }
}

/** Row count and schema of the artifact when it is an Arrow table (or record batch), else null. */
export async function tableView (store: Store, cid: CID, enc: string): Promise<TableView | null> {
  if (enc !== ARROW_ENC) return null
  const table = await store.readArtifact(cid) as TableLike
  return {
    rows: table.numRows,
    columns: table.schema.fields.map((f) => ({ name: f.name, type: String(f.type), nullable: f.nullable }))
  }
}
