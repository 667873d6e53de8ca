/**
 * Stores filled through the Store API with evaluations shaped like the ones
 * `keep` writes (inputs, loads, nested calls, chunked artifacts), for tests of
 * the store operations that must not depend on the run engine.
 */
import * as dagCbor from '@ipld/dag-cbor'
import type { CID } from 'multiformats/cid'
import { Pending, type Store } from '../../../store/store.js'
import { cidOf, DAG_CBOR_CODE, SHA256_CODE } from '../../../store/hash.js'
import type { CodeManifest, LoadRef } from '../../../store/records.js'

export interface FakeSpec {
  path: string
  value: unknown
  /** Canonical argument forms; each is stored as an input block unless `storeInputs` is false. */
  inputs?: unknown[]
  storeInputs?: boolean
  loads?: LoadRef[]
  calls?: CID[]
  /** Memo key; default derived from the path and the value. */
  key?: Uint8Array
  declarations?: Record<string, number>
  packages?: Record<string, string>
  started?: number
  /** Recorded run time in ms (default 12.5). */
  duration?: number
  fn?: string
}

export interface Fake {
  evaluation: CID
  output: CID
  key: Uint8Array
}

let counter = 0

/** Stage and write one evaluation with its artifact, manifest, input blocks and memo entry. */
export async function fakeEvaluation (store: Store, spec: FakeSpec): Promise<Fake> {
  const pending = new Pending()
  const art = await store.stageArtifact(spec.value, pending)
  const inputs: CID[] = []
  for (const input of spec.inputs ?? []) {
    const bytes = dagCbor.encode(input)
    const cid = cidOf(bytes, DAG_CBOR_CODE, SHA256_CODE)
    if (spec.storeInputs !== false) await store.stageBlock(cid, bytes, pending)
    inputs.push(cid)
  }
  const declarations: Record<string, Uint8Array> = {}
  for (const [name, n] of Object.entries(spec.declarations ?? { [`src/${spec.fn ?? 'f'}.ts#${spec.fn ?? 'f'}`]: 1 })) declarations[name] = new Uint8Array(32).fill(n)
  const manifest: CodeManifest = {
    algorithm: 'test/1',
    entry: `src/${spec.fn ?? 'f'}.ts#${spec.fn ?? 'f'}`,
    declarations,
    values: {},
    packages: spec.packages ?? {},
    unavailable: []
  }
  const key = spec.key ?? cidOf(dagCbor.encode({ path: spec.path, n: counter++ }), DAG_CBOR_CODE).multihash.digest
  const { evaluation } = await store.stageEvaluation(manifest, {
    kind: 'keep',
    path: spec.path,
    fn: { name: spec.fn ?? 'f', file: `src/${spec.fn ?? 'f'}.ts`, line: 3, column: 1 },
    signature: key,
    inputs,
    loads: spec.loads ?? [],
    calls: spec.calls ?? [],
    output: art.cid,
    started: spec.started ?? 1_700_000_000_000,
    duration: spec.duration ?? 12.5
  }, [key], pending)
  await store.write(pending)
  return { evaluation, output: art.cid, key }
}

/** The small store options that make artifacts chunked and chunks files at test sizes. */
export const SMALL = { inlineLimit: 16 * 1024, chunkSize: 16 * 1024, fileThreshold: 8 * 1024 }

export interface Pipeline {
  raw: Fake
  big: Fake
  sub: Fake
  clean: Fake
  bigValue: Float64Array
}

/**
 * A small pipeline: /data/raw (a string, one input), /data/big (a chunked
 * typed array), /data/clean (loads /data/raw, calls /data/sub), committed at
 * increasing times.
 */
export async function pipeline (store: Store, time = 1_700_000_000_000): Promise<Pipeline> {
  const raw = await fakeEvaluation(store, { path: '/data/raw', value: 'a,b\n1,2\n', inputs: ['data/raw.csv'], fn: 'readRaw' })
  const bigValue = new Float64Array(10_000).map((_, i) => i * 1.5)
  const big = await fakeEvaluation(store, { path: '/data/big', value: bigValue, inputs: [{ n: 10_000 }], fn: 'makeBig' })
  const sub = await fakeEvaluation(store, { path: '/data/sub', value: { rows: 1 }, fn: 'sub' })
  const clean = await fakeEvaluation(store, {
    path: '/data/clean',
    value: new Map<string, number>([['a', 1], ['b', 2]]),
    inputs: [42],
    loads: [{ path: '/data/raw', evaluation: raw.evaluation, output: raw.output }],
    calls: [sub.evaluation],
    fn: 'clean'
  })
  await store.commit([
    { path: '/data/raw', evaluation: raw.evaluation, output: raw.output, time },
    { path: '/data/big', evaluation: big.evaluation, output: big.output, time: time + 1 },
    { path: '/data/sub', evaluation: sub.evaluation, output: sub.output, time: time + 2, hit: true },
    { path: '/data/clean', evaluation: clean.evaluation, output: clean.output, time: time + 3 }
  ])
  return { raw, big, sub, clean, bigValue }
}

/** Everything a path shows: its history entries (without sequence numbers' absolute values). */
export async function snapshot (store: Store): Promise<unknown> {
  const out: Record<string, unknown> = {}
  for await (const head of store.paths({ deleted: true })) {
    const history: unknown[] = []
    for await (const e of store.history(head.path)) history.push({ seq: e.seq, time: e.time, evaluation: e.evaluation?.toString() ?? null, output: e.output?.toString() ?? null, hit: e.hit === true, imported: e.imported === true })
    out[head.path] = { head: head.seq, history }
  }
  const memo: string[] = []
  for await (const { key, entry } of store.memoEntries()) memo.push(`${Buffer.from(key).toString('hex')}=${entry.evaluation.toString()}`)
  out['#memo'] = memo.sort()
  return out
}
