/**
 * The vocabulary of `dds plan`: what the next run of each path will do, and
 * why, as plain JSON-ready data (CIDs as strings, durations in ms), so that
 * the command and the web view can send it as it is.
 */
import type { ChangeView } from '../inspect/interface.js'

/**
 * What the next keep of a path will do:
 * - `will-run`: its signature changed (or it is forced) and no stored answer fits the new one;
 * - `revert-hit`: the new signature already has an answer in the store (nothing runs, the path takes that answer);
 * - `may-run`: only something upstream changes; early cutoff may still spare it;
 * - `unknown`: the signature depends on values only a run can know (named in `reasons`);
 * - `up-to-date`: its stored answer still holds.
 */
export type PlanStatus = 'will-run' | 'revert-hit' | 'may-run' | 'unknown' | 'up-to-date'

/** Why a path is planned as it is. */
export type PlanReason =
  /** What `dds why` would name (declaration, package, unavailable, algorithm, argument, file, load, value added or removed). */
  | ChangeView
  /** Forced for this run by a path glob (`DDS_FORCE`, `--force`). */
  | { kind: 'forced', change: 'forced', glob: string }
  /** Its answers were refused by `dds invalidate` or `dds rm`. */
  | { kind: 'invalidated', change: 'invalidated' }
  /** The store holds no answer for its signature (dropped, or never stored). */
  | { kind: 'no-answer', change: 'missing' }
  /** An upstream path will (or may) change. */
  | { kind: 'upstream', change: 'may-change', path: string }
  /** A value only a run can know: a closure variable, a binding computed at run time, an explicit dependency. */
  | { kind: 'runtime-value', change: 'unknown', name: string }
  /** The version pinned by hand is read when the code runs. */
  | { kind: 'pinned', change: 'unknown', version: string }
  /** The signature of the unchanged code could not be reproduced here (the code was analysed differently when it ran). */
  | { kind: 'signature', change: 'not-reproduced' }
  /** The recorded function cannot be found or analysed in the source as it is now (moved, renamed, deleted). */
  | { kind: 'function', change: 'not-found', name: string, file: string | null }

/** The plan of one path. */
export interface PathPlan {
  path: string
  status: PlanStatus
  reasons: PlanReason[]
  /** The evaluation the path holds now. */
  evaluation: string
  /** How long that evaluation ran, in ms (what a re-run costs, roughly). */
  duration: number
  /** For a revert hit: the stored evaluation that will answer. */
  answer?: string
}

/** What the next run will do, path by path. */
export interface Plan {
  paths: PathPlan[]
  /** Paths by status. */
  counts: Record<PlanStatus, number>
  /** Sum of the recorded durations of what will re-run, in ms. */
  estimate: number
}

/** Options of planning. */
export interface PlanOptions {
  /**
   * The project whose working tree is read (its code, the arguments its
   * scripts write, the data files recorded relative to it); default: where a
   * run would read it, the project root above the working directory.
   */
  root?: string
  /** Paths or path globs (`/weather/*`, `/a/**`) to plan; every path with a value by default. */
  paths?: string[]
  /** Path globs forced for the run planned (as `DDS_FORCE`); default: `DDS_FORCE`. */
  force?: string[]
}
