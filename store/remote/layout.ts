/**
 * Where everything lives in a remote, under its prefix (the same layout in
 * every object store):
 *
 * - `dds-remote`: the format marker (`{"format":"dds-remote/1"}`).
 * - `blocks/<cid>`: one block, written once (create-only). A block is
 *   written only after every block it links to, so a block that is there
 *   brings its whole graph with it.
 * - `packs/<root cid>`: the payload of a chunked artifact, its chunks in
 *   order, uploaded as one object before `blocks/<root cid>`.
 * - `memo/<key hex>`: a memo answer (key, evaluation record, small artifact
 *   root), written once; the first answer for a key stays.
 * - `log/<path>/<seq, 12 digits>`: the entries of a path's history, each
 *   claimed by a create-only write (see path-logs.ts).
 * - `head/<path>`: the newest published entry of the log, moved forward by
 *   compare-and-swap.
 * - `lease/<name>`: a lease (see leases.ts).
 * - `probe/<random>`: the scratch object of the probe at open.
 */
import type { CID } from 'multiformats/cid'
import { hex } from '../util.js'

/** The layout version this code reads and writes. */
export const REMOTE_FORMAT = 'dds-remote/1'

const SEQ_DIGITS = 12

/** The object keys of one remote (one prefix). */
export class Layout {
  /** `''` or ending in `/`. */
  readonly prefix: string

  constructor (prefix: string) {
    this.prefix = prefix
  }

  /** The key of a name relative to the prefix. */
  key (rel: string): string { return this.prefix + rel }
  marker (): string { return this.key('dds-remote') }
  block (cid: CID): string { return this.key(`blocks/${cid.toString()}`) }
  pack (cid: CID): string { return this.key(`packs/${cid.toString()}`) }
  memo (key: Uint8Array): string { return this.key(`memo/${hex(key)}`) }
  /** Every head key starts with this; the path follows it. */
  heads (): string { return this.key('head') }
  head (path: string): string { return this.key(`head${path}`) }
  log (path: string, seq: number): string { return this.key(`log${path}/${String(seq).padStart(SEQ_DIGITS, '0')}`) }
  lease (name: string): string { return this.key(`lease/${name.replace(/[^A-Za-z0-9._-]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`)}`) }
  probe (id: string): string { return this.key(`probe/${id}`) }
}
