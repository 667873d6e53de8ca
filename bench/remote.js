/**
 * The remote store against plain S3 calls of the same bytes, side by side:
 *
 * - a 1 GiB artifact up (push from a local store: multipart pack from the
 *   chunk files, then the small blocks, the memo answer and the log entry)
 *   and down (load on a machine with an empty local store: head, root, the
 *   pack streamed, every chunk checked against its CID, cached locally and
 *   assembled in memory), against one PutObject and one GetObject read into
 *   memory with @aws-sdk/client-s3;
 * - a remote hit of a small artifact (keep on a machine whose local store
 *   has never seen it: memo answer and path head from the remote), against
 *   one GetObject of a small object;
 * - for information: a 1 GiB keep that computes and uploads, and a keep hit
 *   whose memo answer is local but whose head still comes from the remote.
 *
 * Needs an S3 endpoint: `bash scripts/ceph-up.sh && source /tmp/dds-ceph/env`
 * (DDS_TEST_S3_ENDPOINTS, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY), or
 * DDS_BENCH_S3_ENDPOINT. Without one it says so and records nothing.
 *
 *   node bench/remote.js [--quick]
 */
import { randomBytes, randomFillSync } from 'node:crypto'
import { join } from 'node:path'
import { S3Client, PutObjectCommand, GetObjectCommand, CreateBucketCommand } from '@aws-sdk/client-s3'
import { open } from '../dist/lib/index.js'
import { openStore, pushPaths } from '../dist/store/index.js'
import { quick, MiB, GiB, tempDir, compare, figure, report, progress, isMain, gc, peakRss, resetPeak, median } from './common.js'

const endpoint = process.env.DDS_BENCH_S3_ENDPOINT ?? (process.env.DDS_TEST_S3_ENDPOINTS ?? '').split(',')[0]

function big (n) {
  // Filled by the caller's buffer: the function's own work is not what is measured.
  return globalThis.__ddsBenchBig.subarray(0, n)
}

function small (i) {
  return { i, label: `value ${i}`, values: [i, i * 2, i * 3] }
}

async function bodyBytes (out, size) {
  // What a careful user writes: one buffer of the known size, filled as the stream comes.
  const target = Buffer.allocUnsafe(size)
  let off = 0
  for await (const piece of out.Body) {
    target.set(piece, off)
    off += piece.byteLength
  }
  if (off !== size) throw new Error(`short read: ${off} of ${size}`)
  return target
}

export async function remote () {
  if (endpoint === undefined || endpoint === '') {
    progress('remote: no S3 endpoint (start Ceph: bash scripts/ceph-up.sh && source /tmp/dds-ceph/env); skipped')
    return
  }
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'
  const bucket = `dds-bench-${randomBytes(4).toString('hex')}`
  const s3 = new S3Client({ endpoint, region: process.env.AWS_REGION ?? 'us-east-1', forcePathStyle: true, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' })
  await s3.send(new CreateBucketCommand({ Bucket: bucket }))
  const dir = tempDir('remote')
  const options = (prefix) => ({ url: `s3://${bucket}/${prefix}`, s3: { endpoint } })

  // ---------------------------------------------------------------- 1 GiB up and down
  const size = quick ? 256 * MiB : GiB
  const reps = quick ? 2 : 3
  const label = quick ? '256 MiB' : '1 GiB'
  progress(`remote: ${label} artifact, ${reps} rounds`)
  globalThis.__ddsBenchBig = Buffer.allocUnsafe(size)
  for (let off = 0; off < size; off += 64 * MiB) randomFillSync(globalThis.__ddsBenchBig, off, Math.min(64 * MiB, size - off))
  const payload = globalThis.__ddsBenchBig

  // The artifact in a local store, made once.
  const local = join(dir, 'local')
  const maker = await open({ store: local })
  await maker.keep('/bench/big', big, size)
  await maker.close()

  const up = []; const upBase = []; const down = []; const downBase = []; const keepUp = []
  let peakDown = 0
  for (let r = 0; r < reps; r++) {
    const prefix = `big-${r}`
    // Baseline first in odd rounds, ours first in even ones.
    const order = r % 2 === 0 ? ['ours', 'base'] : ['base', 'ours']
    for (const who of order) {
      if (who === 'base') {
        let t0 = performance.now()
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}/plain`, Body: payload, ContentLength: size }))
        upBase.push((performance.now() - t0) / 1000)
        t0 = performance.now()
        const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: `${prefix}/plain` }))
        const got = await bodyBytes(out, size)
        downBase.push((performance.now() - t0) / 1000)
        if (got.byteLength !== size) throw new Error('baseline read the wrong size')
      } else {
        const store = await openStore({ location: local, remote: options(prefix) })
        let t0 = performance.now()
        await pushPaths(store, ['/bench/big'])
        up.push((performance.now() - t0) / 1000)
        await store.close()
        gc()
        resetPeak()
        const before = peakRss()
        const reader = await open({ store: join(dir, `reader-${r}`), remote: options(prefix) })
        t0 = performance.now()
        const got = await reader.load('/bench/big')
        down.push((performance.now() - t0) / 1000)
        peakDown = Math.max(peakDown, peakRss() - before)
        if (got.byteLength !== size || Buffer.compare(got.subarray(size - 4096), payload.subarray(size - 4096)) !== 0) throw new Error('load read other bytes')
        await reader.close()
      }
      gc()
    }
    progress(`remote: round ${r + 1}: up ${up.at(-1).toFixed(2)} s (plain ${upBase.at(-1).toFixed(2)} s), down ${down.at(-1).toFixed(2)} s (plain ${downBase.at(-1).toFixed(2)} s)`)
  }
  // For information: a keep that computes, stores locally and uploads, on a fresh machine.
  for (let r = 0; r < (quick ? 1 : 2); r++) {
    const writer = await open({ store: join(dir, `writer-${r}`), remote: options(`keep-${r}`) })
    const t0 = performance.now()
    await writer.keep('/bench/big', big, size)
    keepUp.push((performance.now() - t0) / 1000)
    await writer.close()
    gc()
  }
  const mibs = (secs) => secs.map((s) => size / MiB / s)
  compare({ group: 'remote', name: `${label} up (push)`, unit: 'MiB/s', ours: mibs(up), base: mibs(upBase), baseline: 'client-s3 PutObject of the bytes', target: '>= 0.8x', better: 'higher' })
  compare({ group: 'remote', name: `${label} down (load, empty local store)`, unit: 'MiB/s', ours: mibs(down), base: mibs(downBase), baseline: 'client-s3 GetObject into one buffer', target: '>= 0.8x', better: 'higher' })
  figure({ group: 'remote', name: `${label} keep that computes and uploads`, unit: 'MiB/s', samples: mibs(keepUp), better: 'higher', note: 'hash, local chunk files and upload' })
  figure({ group: 'remote', name: `${label} down: memory above the value`, unit: 'MiB', samples: [Math.max(0, peakDown - size) / MiB], note: 'peak RSS growth during load minus the value itself' })
  globalThis.__ddsBenchBig = undefined
  gc()

  // ---------------------------------------------------------------- small remote hits
  const n = quick ? 50 : 200
  const hitReps = quick ? 2 : 3
  progress(`remote: ${n} small remote hits x ${hitReps}`)
  const prefix = 'small'
  const a = await open({ store: join(dir, 'small-a'), remote: options(prefix) })
  for (let i = 0; i < n; i++) await a.keep(`/small/v${i}`, small, i)
  await a.keep('/small/warm', small, -1)
  await a.close()
  const plainKey = 'small-plain'
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: plainKey, Body: Buffer.from(JSON.stringify(small(1))) }))
  const hit = []; const get = []; const localHit = []
  for (let r = 0; r < hitReps; r++) {
    // A machine that has never seen these values.
    const b = await open({ store: join(dir, `small-b-${r}`), remote: options(prefix) })
    await b.keep('/small/warm', small, -1)
    const single = []
    for (let i = 0; i < 20; i++) {
      const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: plainKey }))
      await out.Body.transformToByteArray()
    }
    // Alternate: one remote hit, one plain GET, so both see the same gateway load.
    const ours = []
    for (let i = 0; i < n; i++) {
      let t0 = performance.now()
      await b.keep(`/small/v${i}`, small, i)
      ours.push(performance.now() - t0)
      t0 = performance.now()
      const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: plainKey }))
      await out.Body.transformToByteArray()
      single.push(performance.now() - t0)
    }
    hit.push(median(ours))
    get.push(median(single))
    // Again: the memo answer is local now, the head still comes from the remote.
    const again = []
    for (let i = 0; i < n; i++) {
      const t0 = performance.now()
      await b.keep(`/small/v${i}`, small, i)
      again.push(performance.now() - t0)
    }
    localHit.push(median(again))
    await b.close()
  }
  compare({ group: 'remote', name: 'remote hit of a small artifact (keep, empty local store)', unit: 'ms', ours: hit, base: get, baseline: 'client-s3 GetObject of a small object', target: '>= 0.67x', note: 'within 1.5x of one GET' })
  figure({ group: 'remote', name: 'keep hit with a remote (memo local, head from the remote)', unit: 'ms', samples: localHit })
  s3.destroy()
}

if (isMain(import.meta)) {
  await remote()
  report()
}
