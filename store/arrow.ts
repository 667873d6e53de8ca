/**
 * The Arrow codec: an `apache-arrow` Table or RecordBatch stored as an Arrow
 * IPC stream, written record batch by record batch as views over the table's
 * own column buffers (the artifacts part chunks them as it does large typed
 * arrays), and read back as a Table whose column buffers are views over the
 * bytes read. `apache-arrow` is an optional dependency: a table is recognised
 * without it (by its class's tag and shape), and the package is loaded only
 * to encode or decode, failing with DDS_DEPENDENCY_MISSING when absent, so a
 * table is never stored as a plain object.
 */
import { DdsError, ErrorCodes } from './errors.js'
import type { Codec, Encoded, EncodedForm } from './interface.js'
import { loadOptional, type Importer } from './optional.js'

/** The package the codec loads. */
export const ARROW_PACKAGE = 'apache-arrow'

/* eslint-disable @typescript-eslint/no-explicit-any -- the package's own types are not imported (it may be absent) */
/** The parts of `apache-arrow` the codec uses. */
export interface ArrowModule {
  RecordBatchStreamWriter: { writeAll (input: unknown): AsyncIterable<Uint8Array> }
  tableFromIPC (bytes: Uint8Array): ArrowTable
  Schema: new (fields: any[], metadata?: any) => any
  RecordBatch: new (schema: any, data: any) => any
  Table: new (schema: any, batches: any[]) => ArrowTable
  Dictionary: new (dictionary: any, indices: any, id: number, isOrdered: boolean) => any
  Struct: new (fields: any[]) => any
  DataType: { isDictionary (type: unknown): boolean }
}

/** What the codec reads of a Table. */
export interface ArrowTable {
  readonly schema: { readonly fields: ReadonlyArray<{ readonly name: string, readonly type: unknown, readonly nullable: boolean }> }
  readonly batches: readonly unknown[]
  readonly numRows: number
  readonly numCols: number
}

function tagOf (value: object): unknown {
  const ctor = (value as { constructor?: unknown }).constructor
  return typeof ctor === 'function' ? (ctor as { [Symbol.toStringTag]?: unknown })[Symbol.toStringTag] : undefined
}

/** True when `value` is an Arrow Table (from any copy of `apache-arrow`), found without loading the package. */
export function isArrowTable (value: unknown): value is ArrowTable {
  if (value === null || typeof value !== 'object') return false
  const v = value as Partial<ArrowTable>
  return tagOf(value) === 'Table' && Array.isArray(v.batches) && typeof v.numRows === 'number' && typeof v.schema === 'object' && v.schema !== null
}

/** True when `value` is an Arrow RecordBatch, found without loading the package. */
export function isArrowRecordBatch (value: unknown): boolean {
  if (value === null || typeof value !== 'object') return false
  const v = value as { schema?: unknown, data?: unknown, numRows?: unknown }
  return tagOf(value) === 'RecordBatch' && typeof v.numRows === 'number' && typeof v.schema === 'object' && v.schema !== null && typeof v.data === 'object'
}

let loaded: Promise<ArrowModule> | undefined

/** Load `apache-arrow` once per process (a failed load is retried next time). */
export async function loadArrow (importer?: Importer): Promise<ArrowModule> {
  if (importer !== undefined) return await loadOptional<ArrowModule>(ARROW_PACKAGE, 'storing Arrow tables', importer)
  loaded ??= loadOptional<ArrowModule>(ARROW_PACKAGE, 'storing Arrow tables')
  try {
    return await loaded
  } catch (err) {
    loaded = undefined
    throw err
  }
}

/** The stored `type` of a RecordBatch artifact (a Table has none). */
const RECORD_BATCH = 'RecordBatch'

/**
 * The Arrow codec. `importer` replaces the package loader (tests simulate an
 * absent package with it).
 */
export function arrowCodec (importer?: Importer): Codec {
  return {
    name: 'arrow-ipc',
    version: 1,
    accepts: (v) => isArrowTable(v) || isArrowRecordBatch(v),
    encode: async (value: object): Promise<Encoded> => {
      const arrow = await loadArrow(importer)
      // writeAll queues views over the column buffers, not copies; the artifacts part copies each once into its chunk.
      const table = canonicalIds(arrow, isArrowTable(value) ? value : new arrow.Table((value as { schema: unknown }).schema, [value]))
      const pieces = arrow.RecordBatchStreamWriter.writeAll(table)
      return isArrowTable(value) ? { pieces } : { pieces, type: RECORD_BATCH }
    },
    decode: async (bytes: Uint8Array, form: EncodedForm): Promise<unknown> => {
      if (form.type !== undefined && form.type !== RECORD_BATCH) {
        throw new DdsError(ErrorCodes.INTEGRITY, `unknown Arrow artifact type ${JSON.stringify(form.type)}`, { data: { type: form.type } })
      }
      const arrow = await loadArrow(importer)
      let table: ArrowTable
      try {
        table = arrow.tableFromIPC(bytes)
      } catch (err) {
        throw new DdsError(ErrorCodes.INTEGRITY, `Arrow artifact does not decode: ${(err as Error).message}`, { cause: err })
      }
      if (form.type !== RECORD_BATCH) return table
      if (table.batches.length !== 1) throw new DdsError(ErrorCodes.INTEGRITY, `Arrow record batch artifact holds ${table.batches.length} batches`)
      return table.batches[0]
    }
  }
}

/**
 * The table with its dictionary ids numbered by column (0, 1, ...). apache-arrow
 * takes ids from a process-wide counter, so two equal tables would otherwise
 * differ in their IPC bytes, and so in their identity. Only the ids change:
 * the columns' data is shared, not copied. Dictionaries nested inside lists
 * or structs keep their ids (their bytes then depend on how they were built).
 */
function canonicalIds (arrow: ArrowModule, table: ArrowTable): ArrowTable {
  const fields = table.schema.fields as any[]
  let next = 0
  let changed = false
  const canonical = fields.map((f) => {
    if (!arrow.DataType.isDictionary(f.type)) return f
    const id = next++
    if (f.type.id === id) return f
    changed = true
    return f.clone({ type: new arrow.Dictionary(f.type.dictionary, f.type.indices, id, f.type.isOrdered) })
  })
  if (!changed) return table
  const schema = new arrow.Schema(canonical, (table.schema as any).metadata)
  const struct = new arrow.Struct(canonical)
  const batches = (table.batches as any[]).map((b) => {
    const children = (b.data.children as any[]).map((c, i) => (canonical[i] === fields[i] ? c : c.clone(canonical[i].type)))
    return new arrow.RecordBatch(schema, b.data.clone(struct, b.data.offset, b.data.length, b.data.nullCount, undefined, children))
  })
  return new arrow.Table(schema, batches)
}
