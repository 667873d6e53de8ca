/**
 * Disk usage by path (`dds du`): the bytes of each path's current value and
 * of its older values, and totals in which a block several values share
 * counts once. Values only: evaluation records and code manifests are small
 * and shared, and show in the store-wide figure.
 */
import type { Store } from '../../store/store.js'
import { footprint, storeBytes, sum, type Footprint } from '../../store/footprint.js'
import { validatePath } from '../../store/paths.js'
import type { DdsError } from '../../store/errors.js'
import type { DiskRow, DiskUsage, ProblemView } from './interface.js'

/**
 * The disk usage of the paths under `prefix` (all paths without one), in
 * this store's own blocks.
 *
 * @example
 * const du = await diskUsage(store, { prefix: '/models' })
 * console.log(du.total.all, 'bytes of values under /models')
 */
export async function diskUsage (store: Store, options: { prefix?: string } = {}): Promise<DiskUsage> {
  if (options.prefix !== undefined) validatePath(options.prefix, 'prefix')
  const sizes = new Map<string, number>()
  const current = new Set<string>()
  const older: Footprint = new Map()
  const add = (into: Footprint, fp: Footprint): void => { for (const [id, n] of fp) into.set(id, n) }
  const rows: DiskRow[] = []
  const problems: ProblemView[] = []
  const ns = store.local.namespace
  // A head that cannot be read is reported and left out; the other paths are counted.
  const onDamaged = (where: string, err: DdsError): void => { problems.push({ where, code: err.code, message: err.message }) }
  for await (const head of ns.paths({ deleted: true, onDamaged, ...(options.prefix === undefined ? {} : { prefix: options.prefix }) })) {
    const now = head.output === null ? new Map<string, number>() : await footprint(store, [{ cid: head.output, role: 'artifact' }], sizes)
    const past: Footprint = new Map()
    let entries = 0
    for await (const e of ns.history(head.path)) {
      entries++
      if (e.output === null || e.seq === head.seq) continue
      add(past, await footprint(store, [{ cid: e.output, role: 'artifact' }], sizes))
    }
    rows.push({ path: head.path, current: sum(now), history: sum(past, now), entries, deleted: head.evaluation === null })
    for (const id of now.keys()) current.add(id)
    add(older, past)
  }
  let all = 0
  for (const [id, n] of older) if (!current.has(id)) all += n
  const currentBytes = [...current].reduce((n, id) => n + (sizes.get(id) ?? 0), 0)
  return { paths: rows, total: { current: currentBytes, history: all, all: currentBytes + all }, store: await storeBytes(store), problems }
}
