/**
 * A run's claims on paths: one signature per path, no overlapping paths, no
 * keep reached again while it is being computed; and the error that says how
 * two keeps of one path differ.
 */
import { DdsError, ErrorCodes } from '../../store/errors.js'
import { hex } from '../../store/util.js'
import { ancestors, overlapError } from '../../store/paths.js'
import type { CodeSignature } from '../signature/index.js'
import type { Claim, Frame, Hashed, Run } from './interface.js'

/** A run with nothing claimed, updated or written yet. */
export function newRun (): Run {
  return { claims: new Map(), under: new Map(), updates: new Map(), written: new Map() }
}

/**
 * Claim `path` for this run: one signature per path, no overlapping paths, no cycles.
 *
 * @example
 * claim(run, parentFrame, '/a', claimOf(sig, hashed, keyHex)) // throws DDS_PATH_CONFLICT on a second, different keep of /a
 */
export function claim (run: Run, parent: Frame | undefined, path: string, next: Claim): void {
  const { keyHex } = next
  const prev = run.claims.get(path)
  if (prev !== undefined && prev.keyHex !== keyHex) throw conflict(path, prev, next)
  for (let f = parent; f !== undefined; f = f.parent) {
    if (f.path === path || f.keyHex === keyHex) {
      throw new DdsError(ErrorCodes.CIRCULAR_CALL, `keep(${JSON.stringify(path)}) is called while computing ${f.path ?? 'itself'}`, { data: { path, within: f.path } })
    }
  }
  if (prev === undefined) {
    const dirs = ancestors(path)
    for (const a of dirs) {
      if (run.claims.has(a)) throw overlapError(a, path)
    }
    // Looked up rather than scanned: a map of n inputs claims n paths in one run.
    const other = run.under.get(path)
    if (other !== undefined) throw overlapError(path, other)
    run.claims.set(path, next)
    for (const a of dirs) if (!run.under.has(a)) run.under.set(a, path)
  }
}

/**
 * What a path's claim compares: the memo key, where the function is, its code, and its arguments.
 *
 * @example
 * const c = claimOf(sig, hashed, hex(key)) // c.site === 'double@/src/a.ts:3:1'
 */
export function claimOf (sig: CodeSignature, hashed: Hashed[], keyHex: string): Claim {
  let made = described.get(sig)
  if (made === undefined) {
    made = { site: `${sig.fn.name}@${sig.fn.file ?? ''}:${sig.fn.line ?? ''}:${sig.fn.column ?? ''}`, code: hex(sig.digest) }
    described.set(sig, made)
  }
  return { keyHex, site: made.site, code: made.code, inputs: hashed.map((h) => String(h.cid)) }
}

/** A signature's site and code as a claim compares them (a signature does not change once made). */
const described = new WeakMap<CodeSignature, { site: string, code: string }>()

/** DDS_PATH_CONFLICT, saying whether the function, its code or the arguments differ. */
function conflict (path: string, prev: Claim, next: Claim): DdsError {
  const differs = prev.code === next.code ? 'arguments' : prev.site === next.site ? 'code' : 'function'
  const args: number[] = []
  if (differs === 'arguments') {
    for (let i = 0; i < Math.max(prev.inputs.length, next.inputs.length); i++) if (prev.inputs[i] !== next.inputs[i]) args.push(i)
  }
  const what = differs === 'function'
    ? 'a different function'
    : differs === 'code' ? 'the same function with different code (captured values changed)' : `different arguments (${args.map((i) => `args[${i}]`).join(', ')})`
  return new DdsError(ErrorCodes.PATH_CONFLICT, `path ${path} is kept twice in one run, the second time with ${what}`,
    { data: { path, differs, ...(differs === 'arguments' ? { arguments: args } : {}) } })
}
