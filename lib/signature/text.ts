/**
 * Last-resort normalisation of function text, for when no parser is
 * available: comments are removed and whitespace is collapsed, outside string,
 * template and regular-expression literals. It cannot rename locals or drop
 * types, so it is only a fallback.
 */

const IDENT = /[\p{ID_Continue}$\u200c\u200d]/u

/** Keywords after which a `/` starts a regular expression rather than a division. */
const REGEX_AFTER_WORD = new Set(['return', 'typeof', 'instanceof', 'in', 'of', 'new', 'delete', 'void', 'throw', 'case', 'do', 'else', 'yield', 'await'])

/**
 * Text with comments removed and runs of whitespace reduced to what separates
 * tokens.
 *
 * @example
 * normalizeText('a  +  b // sum') // 'a+b'
 */
export function normalizeText (text: string): string {
  let out = ''
  let i = 0
  let pendingSpace = false
  let lastWord = ''
  const n = text.length
  const emit = (s: string): void => {
    if (pendingSpace && out.length > 0 && IDENT.test(out[out.length - 1]!) && IDENT.test(s[0]!)) out += ' '
    pendingSpace = false
    out += s
  }
  const regexAllowed = (): boolean => {
    const last = out[out.length - 1]
    if (last === undefined) return true
    if (IDENT.test(last)) return REGEX_AFTER_WORD.has(lastWord)
    return !(last === ')' || last === ']' || last === '}')
  }
  while (i < n) {
    const c = text[i]!
    const next = text[i + 1]
    if (c === '/' && next === '/') {
      while (i < n && text[i] !== '\n') i++
      pendingSpace = true
      continue
    }
    if (c === '/' && next === '*') {
      const close = text.indexOf('*/', i + 2)
      i = close < 0 ? n : close + 2
      pendingSpace = true
      continue
    }
    if (/\s/.test(c)) { pendingSpace = true; i++; continue }
    if (c === '"' || c === "'" || c === '`' || (c === '/' && regexAllowed())) {
      const start = i
      i++
      let inClass = false
      while (i < n) {
        const d = text[i]!
        if (d === '\\') { i += 2; continue }
        if (c === '/' && d === '[') inClass = true
        else if (c === '/' && d === ']') inClass = false
        else if (d === c && !inClass) { i++; break }
        i++
      }
      if (c === '/') while (i < n && /[a-z]/i.test(text[i]!)) i++
      emit(text.slice(start, i))
      lastWord = ''
      continue
    }
    if (IDENT.test(c)) {
      const start = i
      while (i < n && IDENT.test(text[i]!)) i++
      lastWord = text.slice(start, i)
      emit(lastWord)
      continue
    }
    lastWord = ''
    emit(c)
    i++
  }
  return out
}
