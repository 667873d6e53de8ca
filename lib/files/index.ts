/**
 * Files a kept function reads, as the run engine uses them: start recording
 * (installing the node:fs and effect wrappers on first use), check recorded
 * files, the digests they have now, and the warnings for effects no check
 * can see.
 */
import { resolve } from 'node:path'
import type { FileRef } from '../../store/records.js'
import type { FunctionAnnotations } from '../interface.js'
import { currentDigest } from './digest.js'
import { installEffectHooks } from './effects.js'
import { hasFreshnessRule } from './freshness.js'
import { installFsHooks } from './fs-hooks.js'
import { Recorder } from './recorder.js'

export { filesHold } from './digest.js'
export { recording, unrecorded, Recorder } from './recorder.js'
export { fresh } from './freshness.js'
export { file, dir, passedAs } from './explicit.js'

/** A recorder for one computing keep; the store's own directory is never recorded. */
export function startRecording (storeLocation: string | undefined): Recorder {
  installFsHooks()
  installEffectHooks()
  return new Recorder(storeLocation === undefined ? [] : [resolve(storeLocation)])
}

/** The recorded files with the digests they have now (for the memo key of the current contents). */
export function filesNow (refs: readonly FileRef[]): Array<{ path: string, kind: string, digest: Uint8Array }> {
  return refs.map((r) => ({ path: r.path, kind: r.kind, digest: currentDigest(r) }))
}

const EFFECT_TEXT = {
  network: 'used the network (fetch, http, https or net)',
  process: 'started a child process',
  worker: 'started a worker thread'
} as const

/**
 * The warnings for what a kept function did that no later check can see:
 * one per kind of effect. Network use is not warned about when the function
 * has a freshness rule (`ttl` or `volatile`): the user said when to run it again.
 */
export function effectWarnings (recorder: Recorder, path: string, ann: FunctionAnnotations | undefined): string[] {
  const out: string[] = []
  for (const e of recorder.effects) {
    if (e === 'network' && hasFreshnessRule(ann)) continue
    const hint = e === 'network'
      ? "; annotate(fn, { ttl: '6h' }) to compute it again after a while, or { volatile: true } to compute it on every run"
      : '; what it reads is not recorded'
    out.push(`the function kept at ${path} ${EFFECT_TEXT[e]}: dds-ts cannot check what that read${hint}`)
  }
  return out
}
