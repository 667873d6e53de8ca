/**
 * A retention budget as given: by code (`open({ budget })`), on the command
 * line (`--max-size 10G --max-age 30d`) or in `DDS_BUDGET`
 * (`max-size=10G,max-age=30d`), parsed and checked here. What gc does with
 * it is store/gc-budget.ts.
 */
import { DdsError, ErrorCodes } from './errors.js'

/** A retention budget: the most bytes the store may hold, the longest an old value may go unused (ms). */
export interface Budget {
  maxSize?: number
  maxAge?: number
}

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 }
const AGES: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 }

/**
 * A size such as `10G`, `512M`, `1.5GiB`, `300k` or `4096` (bytes; units are
 * powers of 1024). RangeError when it is not one.
 *
 * @example
 * parseSize('10G') // 10737418240
 */
export function parseSize (text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?b)?\s*$/i.exec(text)
  const unit = m === null ? undefined : UNITS[(m[2] ?? '').toLowerCase()]
  if (m === null || unit === undefined || (m[2] === '' && m[3] !== undefined && m[3].toLowerCase() === 'ib')) {
    throw new RangeError(`invalid size ${JSON.stringify(text)}: a number with an optional unit K, M, G, T (powers of 1024), e.g. 10G`)
  }
  const n = Math.floor(Number(m[1]) * unit)
  if (!Number.isSafeInteger(n)) throw new RangeError(`size ${JSON.stringify(text)} is too large`)
  return n
}

/**
 * An age such as `30d`, `12h`, `2w`, `90m` or `45s`, in ms. RangeError when it is not one.
 *
 * @example
 * parseAge('30d') // 2592000000
 */
export function parseAge (text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$/i.exec(text)
  const unit = m === null ? undefined : AGES[(m[2] as string).toLowerCase()]
  if (m === null || unit === undefined) throw new RangeError(`invalid age ${JSON.stringify(text)}: a number and a unit s, m, h, d or w, e.g. 30d`)
  const n = Math.floor(Number(m[1]) * unit)
  if (!Number.isSafeInteger(n)) throw new RangeError(`age ${JSON.stringify(text)} is too large`)
  return n
}

/** Check a budget given in code: sizes and ages are non-negative integers (bytes, ms). */
export function checkBudget (budget: Budget): Budget {
  if (budget === null || typeof budget !== 'object') throw new TypeError('budget must be an object { maxSize?, maxAge? }')
  for (const k of ['maxSize', 'maxAge'] as const) {
    const v = budget[k]
    if (v !== undefined && (!Number.isSafeInteger(v) || v < 0)) throw new RangeError(`budget.${k} must be an integer >= 0`)
  }
  if (budget.maxSize === undefined && budget.maxAge === undefined) throw new RangeError('a budget needs maxSize or maxAge')
  return budget
}

/**
 * The budget in `DDS_BUDGET` (`max-size=10G`, `max-age=30d`, or both, comma
 * separated), or undefined when unset. DDS_BUDGET_INVALID when malformed.
 *
 * @example
 * budgetFromEnv('max-size=10G,max-age=30d') // { maxSize: 10737418240, maxAge: 2592000000 }
 */
export function budgetFromEnv (text: string | undefined = process.env.DDS_BUDGET): Budget | undefined {
  if (text === undefined || text.trim() === '') return undefined
  const budget: Budget = {}
  try {
    for (const part of text.split(',')) {
      const [k, v, extra] = part.split('=').map((x) => x.trim())
      if (v === undefined || extra !== undefined) throw new RangeError(`${JSON.stringify(part)} is not name=value`)
      if (k === 'max-size') budget.maxSize = parseSize(v)
      else if (k === 'max-age') budget.maxAge = parseAge(v)
      else throw new RangeError(`unknown budget ${JSON.stringify(k)}: max-size or max-age`)
    }
    return checkBudget(budget)
  } catch (err) {
    throw new DdsError(ErrorCodes.BUDGET_INVALID, `DDS_BUDGET=${JSON.stringify(text)}: ${(err as Error).message}`, { data: { value: text } })
  }
}
