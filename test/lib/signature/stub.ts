/**
 * A deterministic structural value hasher for tests: primitives, arrays,
 * plain objects (sorted keys), Map, Set, Date, RegExp, and functions by their
 * code signature; anything else is refused as unhashable. The real hasher is
 * supplied by the library's callers; signature tests use this one. This file
 * is also copied into fixture projects, so it imports only Node builtins.
 */
import { createHash } from 'node:crypto'

/** What the stub needs from the engine under test. */
export interface StubDeps {
  signature: (fn: Function, options: { hashValue: (value: unknown, label: string) => Uint8Array }) => { digest: Uint8Array }
  unhashable: (label: string) => Error
}

/**
 * A `hashValue` for signature options.
 *
 * @example
 * const hashValue = makeHashValue({ signature: codeSignature, unhashable: (l) => new DdsError('DDS_UNHASHABLE', l) })
 */
export function makeHashValue (deps: StubDeps): (value: unknown, label: string) => Uint8Array {
  const hashValue = (value: unknown, label: string): Uint8Array => {
    return new Uint8Array(createHash('sha256').update(encode(value, label, new Set())).digest())
  }
  const encode = (v: unknown, label: string, seen: Set<unknown>): string => {
    switch (typeof v) {
      case 'undefined': return 'u'
      case 'boolean': return v ? 't' : 'f'
      case 'number': return Object.is(v, -0) ? 'n:-0' : `n:${String(v)}`
      case 'bigint': return `b:${v.toString()}`
      case 'string': return `s:${JSON.stringify(v)}`
      case 'symbol': throw deps.unhashable(label)
      case 'function': return `F:${Buffer.from(deps.signature(v, { hashValue }).digest).toString('hex')}`
    }
    if (v === null) return 'null'
    if (seen.has(v)) throw deps.unhashable(label)
    seen.add(v)
    try {
      if (Array.isArray(v)) return `[${v.map((x, i) => encode(x, `${label}[${i}]`, seen)).join(',')}]`
      if (v instanceof Map) return `M{${[...v].map(([k, x]) => `${encode(k, label, seen)}=>${encode(x, label, seen)}`).sort().join(',')}}`
      if (v instanceof Set) return `S{${[...v].map((x) => encode(x, label, seen)).sort().join(',')}}`
      if (v instanceof Date) return `D:${v.getTime()}`
      if (v instanceof RegExp) return `R:${v.source}/${v.flags}`
      const proto = Object.getPrototypeOf(v)
      if (proto !== Object.prototype && proto !== null) throw deps.unhashable(label)
      const o = v as Record<string, unknown>
      return `{${Object.keys(o).sort().map((k) => `${JSON.stringify(k)}:${encode(o[k], `${label}.${k}`, seen)}`).join(',')}}`
    } finally {
      seen.delete(v)
    }
  }
  return hashValue
}
