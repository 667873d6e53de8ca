/** `dds cat PATH|CID`: print an artifact. */
import { artifactOf, type Target } from '../../inspect.js'
import { UsageError, type Command, type Context } from '../context.js'
import { jsonPieces, looksLikeText, size } from '../format.js'
import { csvPieces, jsonlPieces, preview, rowSource } from '../rows.js'

/** The codec of Arrow table artifacts. */
const ARROW = 'arrow-ipc'
const FORMATS = ['csv', 'jsonl', 'arrow']

/** The encodings stored as bytes (printed as they are); `utf8` is a string, the rest general values. */
const BYTES = new Set(['bytes', 'buffer', 'arraybuffer', 'typed'])

const ELEMENT_SIZE: Record<string, number> = {
  Int8Array: 1, Uint8Array: 1, Uint8ClampedArray: 1, Int16Array: 2, Uint16Array: 2, Int32Array: 4, Uint32Array: 4,
  Float32Array: 4, Float64Array: 8, BigInt64Array: 8, BigUint64Array: 8, Float16Array: 2
}

/** The first values of a typed array's bytes, as text. */
function firstValues (type: string, bytes: Uint8Array, n = 8): string {
  const ctor = (globalThis as unknown as Record<string, (new (b: ArrayBuffer, o: number, l: number) => ArrayLike<number | bigint>) | undefined>)[type]
  const width = ELEMENT_SIZE[type]
  if (ctor === undefined || width === undefined) return ''
  const count = Math.min(n, Math.floor(bytes.byteLength / width))
  const copy = bytes.slice(0, count * width)
  const xs = new ctor(copy.buffer, 0, count)
  return Array.from({ length: count }, (_, i) => String(xs[i])).join(', ')
}

/** What a terminal gets instead of binary bytes: the type, the size, the first values or bytes. */
async function summary (ctx: Context, cid: string, info: { enc: string, type?: string, size: number }, first: Uint8Array): Promise<void> {
  if (info.enc === 'typed' && info.type !== undefined) {
    const width = ELEMENT_SIZE[info.type] ?? 1
    await ctx.write(`${info.type}, ${Math.floor(info.size / width)} elements (${size(info.size)}), artifact ${cid}\n`)
    await ctx.write(`first values: ${firstValues(info.type, first)}${info.size > 8 * width ? ', …' : ''}\n`)
  } else {
    await ctx.write(`binary data, ${size(info.size)} (${info.enc}), artifact ${cid}\n`)
    const head = [...first.subarray(0, 32)].map((b) => b.toString(16).padStart(2, '0')).join(' ')
    await ctx.write(`first bytes: ${head}${info.size > 32 ? ' …' : ''}\n`)
  }
  ctx.note('binary data is not printed to a terminal: use --raw, or redirect it (dds cat … > file)')
}

export const command: Command = {
  usage: 'dds cat PATH|PATH@SEQ|CID [--raw] [--json] [--format csv|jsonl|arrow]',
  description: `
Print the value of PATH (or of history entry SEQ, or of the artifact or
evaluation with that CID) on stdout. Strings and binary values (Buffer,
Uint8Array, ArrayBuffer, typed arrays) are printed as their bytes, streamed,
so that \`dds cat /data/raw > raw.csv\` gives the file back; every other value
is printed as JSON (Map as an object, Set and typed arrays inside values as
lists, Date as an ISO string, BigInt as an exact integer, undefined as null).
On a terminal, binary data (a typed array, bytes that are not text) is
summarised instead (type, size, first values) unless --raw.
--raw prints the stored payload bytes instead (for general values: their
CBOR encoding); --json prints any value, strings and bytes included, as JSON.
An Arrow table is shown on a terminal as its first rows, aligned; through a
pipe it is its Arrow IPC stream. --format csv or jsonl prints all the rows of
a table or of an array of plain row objects, --format arrow a table's IPC
stream.`,
  options: { raw: { type: 'boolean' }, format: { type: 'string', short: 'f' } },
  optionHelp: [['--raw', 'the stored payload bytes, whatever the value'], ['-f, --format FMT', 'csv, jsonl (tables and arrays of row objects) or arrow (tables)']],
  example: `
$ dds cat /data/raw > raw.csv
$ dds cat /stats/summary
{
  "rows": 1461,
  "mean": 11.4
}
$ dds cat /data/daily --format csv > daily.csv`,
  positionals: [1, 1],
  async run (ctx) {
    const target: Target = ctx.target(ctx.args[0] as string)
    const store = await ctx.store({ read: true })
    const cid = await artifactOf(store, target, ctx.source)
    const info = await store.artifactInfo(cid)
    const raw = ctx.flag('raw')
    const format = ctx.string('format')
    if (format !== undefined && !FORMATS.includes(format)) throw new UsageError(`--format must be csv, jsonl or arrow, not ${JSON.stringify(format)}`)
    if (format === 'arrow' && info.enc !== ARROW) throw new UsageError(`--format arrow needs an Arrow table; ${ctx.args[0] as string} holds a ${info.enc} value`)
    if (!raw && (format === 'csv' || format === 'jsonl' || (info.enc === ARROW && format === undefined && (ctx.json || ctx.stdout.isTTY === true)))) {
      const value = await store.readArtifact(cid)
      const src = rowSource(value)
      if (src === undefined) throw new UsageError(`--format ${format ?? 'csv'} needs a table or an array of plain row objects; ${ctx.args[0] as string} holds something else`)
      if (format === undefined && !ctx.json) {
        await ctx.write(preview(src))
        return
      }
      for (const piece of (format === 'csv' ? csvPieces : jsonlPieces)(src)) await ctx.write(piece)
      return
    }
    if (raw || (!ctx.json && info.enc !== 'cbor-x/1')) {
      const chunks = store.artifactBytes(cid)[Symbol.asyncIterator]()
      let next = await chunks.next()
      if (!raw && ctx.stdout.isTTY === true && BYTES.has(info.enc)) {
        const first = next.done === true ? new Uint8Array(0) : next.value
        if (info.enc === 'typed' || !looksLikeText(first.subarray(0, 64 * 1024))) {
          await chunks.return?.()
          await summary(ctx, cid.toString(), info, first)
          return
        }
      }
      while (next.done !== true) {
        await ctx.write(next.value)
        next = await chunks.next()
      }
      return
    }
    const value = await store.readArtifact(cid)
    let buf = ''
    for (const piece of jsonPieces(value)) {
      buf += piece
      if (buf.length >= 1 << 16) {
        await ctx.write(buf)
        buf = ''
      }
    }
    await ctx.write(buf + '\n')
  }
}
