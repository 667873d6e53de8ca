/**
 * `open()`'s options: which store (given, found, or opened here, with the
 * team's remote), the reporter, force rules from the environment, and what
 * the instance is configured with.
 */
import { openStore, Store } from '../../store/store.js'
import { findStore, type StoreFound } from '../../store/location.js'
import { createReporter, logFromEnv } from '../reporter.js'
import { forceFromEnv } from '../force.js'
import { budgetFromEnv } from '../../store/budget.js'
import type { DdsOptions } from '../interface.js'
import type { InstanceOptions } from './interface.js'

/** An opened store, whether the instance owns (and closes) it, and how it was found. */
export interface Opened {
  store: Store
  owned: boolean
  found: StoreFound
  settings: InstanceOptions
}

/**
 * Open the store `options` name and read the rest of them into instance settings.
 *
 * @example
 * const { store, owned, found, settings } = await openFromOptions({ store: '/tmp/s', force: '/a/*' })
 */
export async function openFromOptions (options: DdsOptions): Promise<Opened> {
  const { store, onEvent, maxCapturedElements, remote, log, threads, queue, force, ...storeOptions } = options
  let s: Store
  let owned = true
  let found: StoreFound = 'given'
  if (store instanceof Store) {
    s = store
    owned = false
  } else {
    const team = remote ?? defaultRemote()
    let location = store
    if (location === undefined && (storeOptions.backend ?? 'classic') === 'classic') {
      const where = findStore()
      location = where.location
      found = where.found
    }
    const budget = storeOptions.budget ?? budgetFromEnv()
    s = await openStore({ ...storeOptions, ...(location === undefined ? {} : { location }), ...(team === undefined ? {} : { remote: team }), ...(budget === undefined ? {} : { budget }) })
  }
  const wanted = log ?? logFromEnv()
  const reporter = wanted === false ? undefined : createReporter(wanted === true ? {} : wanted)
  const settings: InstanceOptions = {
    ...(onEvent === undefined ? {} : { onEvent }),
    ...(reporter === undefined ? {} : { reporter }),
    ...(maxCapturedElements === undefined ? {} : { maxCapturedElements }),
    force: force === undefined ? forceFromEnv() : typeof force === 'string' ? [force] : force,
    parallel: { ...(threads === undefined ? {} : { threads }), ...(queue === undefined ? {} : { queue }) }
  }
  return { store: s, owned, found, settings }
}

/** The remote named by `$DDS_REMOTE` (`s3://bucket/prefix`), if set. */
function defaultRemote (): string | undefined {
  const env = process.env.DDS_REMOTE
  return env === undefined || env === '' ? undefined : env
}
