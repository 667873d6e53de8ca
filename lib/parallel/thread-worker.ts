/**
 * The entry of a pool's worker thread: loads a kept function from its module
 * by its exported name, checks that its code signature here is the caller's,
 * runs it and sends the result back with its buffers moved, not copied.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { DdsError, ErrorCodes } from '../../store/errors.js'
import { sameBytes } from '../../store/util.js'
import { open, type DdsInstance } from '../dds.js'
import { runPreloads, type ThreadCall, type ThreadReply } from './threads.js'
import { toWire, transferables } from './wire.js'

// Only for hashing code the way the caller does; nothing is stored here.
let hasher: Promise<DdsInstance> | undefined
// The parent's loaders (a TypeScript loader), run once before the first module that needs them.
let loaders: Promise<void> | undefined
const TYPESCRIPT = /\.(c|m)?tsx?([?#].*)?$/

async function load (call: ThreadCall): Promise<Function> {
  if (TYPESCRIPT.test(call.url) && !import.meta.url.endsWith('.ts')) {
    loaders ??= runPreloads((workerData as { preloads: string[] }).preloads)
    await loaders
  }
  const mod = await import(call.url) as Record<string, unknown>
  const fn = mod[call.exportName]
  if (typeof fn !== 'function') {
    throw new DdsError(ErrorCodes.NOT_EXPORTED, `${call.url} exports no function ${call.exportName} in this worker`, { data: { url: call.url, fn: call.exportName } })
  }
  hasher ??= open({ backend: 'memory' })
  const digest = (await hasher).codeDigest(fn)
  if (!sameBytes(digest, call.code)) {
    throw new DdsError(ErrorCodes.CODE_MISMATCH, `refusing ${call.exportName}: its code in this worker is not the caller's (was ${call.url} edited after the caller loaded it?)`, { data: { url: call.url, fn: call.exportName } })
  }
  return fn
}

parentPort?.on('message', (call: ThreadCall) => {
  const reply = async (): Promise<void> => {
    let answer: ThreadReply
    try {
      const fn = await load(call)
      const value: unknown = await fn(...call.args)
      answer = { id: call.id, ok: true, value }
      try {
        parentPort?.postMessage(answer, transferables(value))
        return
      } catch (err) {
        answer = { id: call.id, ok: false, error: toWire(new DdsError(ErrorCodes.UNSERIALIZABLE, `the value returned by ${call.exportName} cannot be sent back from a worker thread: ${(err as Error).message}`)) }
      }
    } catch (err) {
      answer = { id: call.id, ok: false, error: toWire(err) }
    }
    parentPort?.postMessage(answer)
  }
  void reply()
})
