/**
 * Stored values as text for a person: JSON in pieces (what `dds cat` prints
 * and the web view downloads), and whether bytes read as text. Shared by the
 * command line and the web view.
 */

/**
 * An artifact value as JSON text, in pieces, so that a large value is never
 * one giant string: Map as an object (or a list of pairs when a key is not a
 * string), Set and typed arrays as lists, Date as an ISO string, BigInt as an
 * exact integer literal, undefined/NaN/Infinity as null, bytes as numbers.
 */
export function * jsonPieces (value: unknown, indent = ''): Generator<string> {
  const inner = indent + '  '
  if (value === null || value === undefined) { yield 'null'; return }
  switch (typeof value) {
    case 'string': yield JSON.stringify(value); return
    case 'number': yield Number.isFinite(value) ? JSON.stringify(value) : 'null'; return
    case 'boolean': yield String(value); return
    case 'bigint': yield value.toString(); return
    case 'object': break
    default: yield 'null'; return
  }
  if (value instanceof Date) { yield Number.isNaN(value.getTime()) ? 'null' : JSON.stringify(value.toISOString()); return }
  if (value instanceof RegExp) { yield JSON.stringify(String(value)); return }
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) {
    const view = value instanceof ArrayBuffer ? new Uint8Array(value) : value
    const xs = view as unknown as ArrayLike<number | bigint>
    yield '['
    for (let i = 0; i < xs.length; i += 4096) {
      const part: string[] = []
      for (let j = i; j < Math.min(xs.length, i + 4096); j++) {
        const x = xs[j] as number | bigint
        part.push(typeof x === 'bigint' ? x.toString() : Number.isFinite(x) ? String(x) : 'null')
      }
      yield (i === 0 ? '' : ', ') + part.join(', ')
    }
    yield ']'
    return
  }
  if (value instanceof Map) {
    if ([...value.keys()].every((k) => typeof k === 'string')) {
      yield * object([...value.entries()] as Array<[string, unknown]>, indent)
    } else {
      yield * array([...value.entries()], indent)
    }
    return
  }
  if (value instanceof Set) { yield * array([...value], indent); return }
  if (Array.isArray(value)) { yield * array(value, indent); return }
  yield * object(Object.entries(value), indent)

  function * array (xs: unknown[], ind: string): Generator<string> {
    if (xs.length === 0) { yield '[]'; return }
    if (xs.every((x) => x === null || typeof x !== 'object')) {
      yield '['
      for (let i = 0; i < xs.length; i++) {
        if (i > 0) yield ', '
        yield * jsonPieces(xs[i], ind)
      }
      yield ']'
      return
    }
    yield '[\n'
    for (let i = 0; i < xs.length; i++) {
      yield inner
      yield * jsonPieces(xs[i], inner)
      yield i < xs.length - 1 ? ',\n' : '\n'
    }
    yield `${ind}]`
  }
  function * object (entries: Array<[string, unknown]>, ind: string): Generator<string> {
    if (entries.length === 0) { yield '{}'; return }
    yield '{\n'
    for (let i = 0; i < entries.length; i++) {
      const [k, v] = entries[i] as [string, unknown]
      yield `${inner}${JSON.stringify(k)}: `
      yield * jsonPieces(v, inner)
      yield i < entries.length - 1 ? ',\n' : '\n'
    }
    yield `${ind}}`
  }
}

/** True when the bytes read as text (UTF-8, no control characters but whitespace and escapes), so a terminal can show them. */
export function looksLikeText (bytes: Uint8Array): boolean {
  try {
    // `stream` lets a multi-byte character cut at the end of the sample pass.
    new TextDecoder('utf-8', { fatal: true }).decode(bytes, { stream: true })
  } catch {
    return false
  }
  for (const b of bytes) if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d && b !== 0x0c && b !== 0x1b) return false
  return !bytes.includes(0x7f)
}
