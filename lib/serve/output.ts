/**
 * An output for the browser: the same bytes `dds cat` prints (to download),
 * a preview (a value as JSON, text, an image kind, hex), and the image type
 * of bytes, found from their first bytes, never from a stored label.
 */
import type { CID } from 'multiformats/cid'
import type { Store } from '../../store/store.js'
import { ARROW_ENC, csvPieces, jsonPieces, looksLikeText, rowSource } from '../inspect.js'
import type { OutputPreview } from './interface.js'

/** Values up to this size are sent decoded; larger ones only as a download. */
const VALUE_LIMIT = 4 * 1024 * 1024
const TEXT_LIMIT = 256 * 1024
const HEX_LIMIT = 4096

/** The bytes `dds cat` prints for an artifact: strings and bytes as they are, other values as JSON. */
export async function * catBytes (store: Store, cid: CID): AsyncGenerator<Uint8Array | string> {
  const info = await store.artifactInfo(cid)
  if (info.enc !== 'cbor-x/1') {
    yield * store.artifactBytes(cid)
    return
  }
  let buf = ''
  for (const piece of jsonPieces(await store.readArtifact(cid))) {
    buf += piece
    if (buf.length >= 1 << 16) { yield buf; buf = '' }
  }
  yield buf + '\n'
}

async function head (store: Store, cid: CID, n: number): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  let have = 0
  for await (const chunk of store.artifactBytes(cid)) {
    parts.push(chunk)
    have += chunk.byteLength
    if (have >= n) break
  }
  return Buffer.concat(parts).subarray(0, n)
}

/** PNG, JPEG or SVG by the bytes' signature, else undefined. */
export function imageType (bytes: Uint8Array): 'image/png' | 'image/jpeg' | 'image/svg+xml' | undefined {
  if (bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) return 'image/png'
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg'
  if (!looksLikeText(bytes.subarray(0, 1024))) return undefined
  const start = new TextDecoder().decode(bytes.subarray(0, 1024)).trimStart()
  if (/^(<\?xml[^>]*>\s*)?(<!--[\s\S]*?-->\s*)*(<!DOCTYPE svg[^>]*>\s*)?<svg[\s>]/i.test(start)) return 'image/svg+xml'
  return undefined
}

/**
 * The CSV `dds cat --format csv` prints for a table or an array of plain row
 * objects; undefined for any other value.
 */
export async function csvBytes (store: Store, cid: CID): Promise<Iterable<string> | undefined> {
  const src = rowSource(await store.readArtifact(cid))
  return src === undefined ? undefined : csvPieces(src)
}

/** How to show an artifact: its value, its text, an image, its first bytes in hex, or (a table) pages of rows asked for apart. */
export async function previewOf (store: Store, cid: CID): Promise<OutputPreview> {
  const info = await store.artifactInfo(cid)
  if (info.enc === ARROW_ENC) return { kind: 'table' }
  if (info.enc === 'cbor-x/1') {
    if (info.size > VALUE_LIMIT) return { kind: 'large', truncated: true }
    return { kind: 'value', value: JSON.parse(Array.from(jsonPieces(await store.readArtifact(cid))).join('')), truncated: false }
  }
  const first = await head(store, cid, Math.max(TEXT_LIMIT, HEX_LIMIT))
  if (info.enc !== 'typed') {
    const mime = imageType(first)
    if (mime !== undefined) return { kind: 'image', mime }
    if (looksLikeText(first)) return { kind: 'text', text: new TextDecoder().decode(first.subarray(0, TEXT_LIMIT), { stream: true }), truncated: info.size > TEXT_LIMIT }
  }
  const bytes = first.subarray(0, HEX_LIMIT)
  return { kind: 'hex', hex: Buffer.from(bytes).toString('hex'), truncated: info.size > HEX_LIMIT }
}
