/**
 * `repairStore`: after `verifyStore`, drop the index entries that cannot be
 * trusted and that the store can do without. A memo entry is only a cache
 * answer (dropping one costs a re-run, serving a bad one returns a wrong
 * value), and a head is only a copy of its path's last history entry; so bad
 * memo entries are deleted, heads are rebuilt from their history, and block
 * index keys that are not CIDs are deleted. History entries and blocks are
 * never touched: what they hold is reported by verify, not thrown away.
 */
import { isDdsError } from './errors.js'
import { decodeNode, toStoredHistoryEntry } from './records.js'
import { encodeHead, historyRange, parseHistoryKey } from './keys.js'
import type { Problem } from './block-index.js'
import type { BatchOp } from './interface.js'
import type { Store } from './store.js'

/** One entry `repairStore` changed. */
export interface Repair {
  space: 'blocks' | 'paths' | 'memo'
  /** The stored key, hex. */
  key: string
  /** `dropped`: deleted; `rebuilt`: a head set back to its path's last readable history entry. */
  action: 'dropped' | 'rebuilt'
  path?: string
  /** The sequence number the rebuilt head now has. */
  seq?: number
  /** The problem that condemned the entry. */
  reason: string
}

/**
 * Drop or rebuild the entries named by a verify report's problems. Runs under
 * the store's `gc` lock, so no gc and no keep staging an evaluation runs
 * meanwhile. Returns what it changed, one item per entry.
 *
 * @example
 * const report = await verifyStore(store)
 * for (const r of await repairStore(store, report.problems)) console.error(r.action, r.space, r.path ?? r.key)
 */
export async function repairStore (store: Store, problems: Problem[]): Promise<Repair[]> {
  const lock = await store.lock('gc')
  try {
    const ops: BatchOp[] = []
    const done: Repair[] = []
    const seen = new Set<string>()
    for (const p of problems) {
      if (p.key === undefined || p.space === undefined || p.space === 'history') continue
      if (p.space === 'blocks' && p.problem !== 'malformed') continue
      const id = `${p.space}:${p.key}`
      if (seen.has(id)) continue
      seen.add(id)
      const key = Buffer.from(p.key, 'hex')
      if (p.space === 'paths' && p.path !== undefined) {
        const last = await lastReadable(store, p.path)
        if (last !== undefined) {
          ops.push({ type: 'put', space: 'paths', key, value: encodeHead(last.seq, last.bytes) })
          done.push({ space: 'paths', key: p.key, action: 'rebuilt', path: p.path, seq: last.seq, reason: p.message })
          continue
        }
      }
      ops.push({ type: 'del', space: p.space, key })
      done.push({ space: p.space, key: p.key, action: 'dropped', ...(p.path === undefined ? {} : { path: p.path }), reason: p.message })
    }
    if (ops.length > 0) await store.backend.batch(ops, { sync: true })
    return done
  } finally {
    await lock.release()
  }
}

/** The newest history entry of a path that decodes, with its stored bytes. */
async function lastReadable (store: Store, path: string): Promise<{ seq: number, bytes: Uint8Array } | undefined> {
  for await (const [key, value] of store.backend.entries('history', { ...historyRange(path), reverse: true })) {
    try {
      const { seq } = parseHistoryKey(key)
      toStoredHistoryEntry(decodeNode(value, 'history entry'))
      return { seq, bytes: value }
    } catch (err) {
      // Unreadable entries stay where they are (verify names them); the head skips them.
      if (!isDdsError(err)) throw err
    }
  }
  return undefined
}
