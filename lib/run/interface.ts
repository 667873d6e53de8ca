/**
 * The run engine's vocabulary: what a run collects, a keep's frame and
 * outcome, and the context the engine's parts (claims, lookup, compute,
 * commit, load) share. Types only, so that reading the contract loads nothing.
 */
import type { AsyncLocalStorage } from 'node:async_hooks'
import type { CID } from 'multiformats/cid'
import type { Store, PathUpdate } from '../../store/store.js'
import type { FileRef, LoadRef } from '../../store/records.js'
import type { Recorder } from '../files/index.js'
import type { DdsEvent, Reporter } from '../interface.js'
import type { ForceRules } from '../force.js'
import type { ParallelOptions } from '../parallel/executors.js'

/** A path written in this run: its evaluation, output and, once read or computed, the value. */
export interface Written {
  evaluation: CID
  output: CID
  value?: { v: unknown }
}

/** What a keep claimed a path with: enough to say how a conflicting keep differs. */
export interface Claim {
  keyHex: string
  /** Where the function is defined (name, file, line, column). */
  site: string
  code: string
  inputs: string[]
}

/** One top-level keep or evaluate and everything its nested keeps did. */
export interface Run {
  /** Path -> the keep that claimed it in this run. */
  claims: Map<string, Claim>
  /** Directory of a claimed path -> one path claimed under it. */
  under: Map<string, string>
  updates: Map<string, PathUpdate>
  written: Map<string, Written>
}

/** One keep (or the top-level evaluate) being computed, within its run. */
export interface Frame {
  run: Run
  path: string | null
  keyHex: string | null
  parent: Frame | undefined
  loads: Map<string, LoadRef>
  calls: CID[]
  /** What the function reads (a computing keep only). */
  files?: Recorder
}

/** What a keep resolved to, hit or computed. */
export interface Outcome {
  value: unknown
  evaluation: CID
  output: CID
  loads: LoadRef[]
  files: FileRef[]
  hit: boolean
}

/** An argument's identity, and its canonical bytes when they are worth storing. */
export interface Hashed { cid: CID, bytes: Uint8Array | undefined }

/** What the engine's parts share: the store, the force rules, events and remembered identities. */
export interface RunContext {
  readonly store: Store
  readonly force: ForceRules
  /** The frame of the keep being computed, if any. */
  readonly als: AsyncLocalStorage<Frame>
  /** How long each function (by code signature, hex) last ran, in ms. */
  readonly durations: Map<string, number>
  emit: (event: DdsEvent) => void
  /** Remember that `value` (an object) is stored as `output`, so passing it on hashes by that identity. */
  remember: (value: unknown, output: CID) => void
}

/** What an instance is configured with, besides its store. */
export interface InstanceOptions {
  onEvent?: (e: DdsEvent) => void
  reporter?: Reporter
  maxCapturedElements?: number
  parallel?: ParallelOptions
  force?: string[]
}
