/**
 * `dds serve`: a read-only web view of a store over node:http. It serves the
 * page and its script, the charting and pan-zoom libraries from
 * node_modules, the JSON API (./api.ts) and artifacts' bytes. Every response
 * carries a content security policy that allows only this origin's scripts;
 * no cookies are ever set; the Host header must name this server (a page on
 * another site cannot reach it by DNS rebinding); off loopback every request
 * must carry the access token.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { createRequire } from 'node:module'
import { isIP } from 'node:net'
import { fileURLToPath } from 'node:url'
import { DdsError, ErrorCodes, isDdsError } from '../../store/errors.js'
import type { Store } from '../../store/store.js'
import { ARROW_ENC, artifactOf, parseTarget } from '../inspect.js'
import { apiRoute, BadRequest } from './api.js'
import type { ServeOptions, Serving } from './interface.js'
import { catBytes, csvBytes, imageType } from './output.js'

const PAGE_POLICY = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
/** Stored bytes are never a document: an SVG opened directly runs no script and loads nothing. */
const RAW_POLICY = "default-src 'none'; style-src 'unsafe-inline'; sandbox"

/** Files of the page, from this package; libraries from node_modules (their names say which package). */
const CLIENT: Record<string, { file: string, type: string }> = {
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' }
}
const VENDOR: Record<string, { module: string, type: string }> = {
  '/vendor/uplot.js': { module: 'uplot/dist/uPlot.iife.min.js', type: 'text/javascript; charset=utf-8' },
  '/vendor/uplot.css': { module: 'uplot/dist/uPlot.min.css', type: 'text/css; charset=utf-8' },
  '/vendor/svg-pan-zoom.js': { module: 'svg-pan-zoom/dist/svg-pan-zoom.min.js', type: 'text/javascript; charset=utf-8' }
}

/** The page's own files: beside this module in the sources, or under lib/ when it runs from dist/lib/serve or the bundle in dist/bundle. */
function clientDir (): string {
  const here = new URL('./client/', import.meta.url)
  if (existsSync(here)) return fileURLToPath(here)
  const bundled = new URL('../../lib/serve/client/', import.meta.url)
  if (new URL('.', import.meta.url).pathname.endsWith('/dist/bundle/') && existsSync(bundled)) return fileURLToPath(bundled)
  return fileURLToPath(new URL('../../../lib/serve/client/', import.meta.url))
}

/** Where each library file is; DDS_DEPENDENCY_MISSING naming the package when one is not installed. */
function vendorFiles (): Map<string, string> {
  const require = createRequire(import.meta.url)
  const out = new Map<string, string>()
  for (const [route, v] of Object.entries(VENDOR)) {
    try {
      out.set(route, require.resolve(v.module))
    } catch (err) {
      const pkg = v.module.split('/')[0] as string
      throw new DdsError(ErrorCodes.DEPENDENCY_MISSING, `dds serve needs the optional package ${pkg}: npm install ${pkg}`, { cause: err, data: { package: pkg } })
    }
  }
  return out
}

/** True for an address only this machine can reach. */
export function isLoopback (host: string): boolean {
  if (host === 'localhost') return true
  const h = host.replace(/^\[|\]$/g, '')
  if (isIP(h) === 4) return h.startsWith('127.')
  return h === '::1' || h.startsWith('::ffff:127.')
}

function digest (s: string): Buffer {
  return createHash('sha256').update(s).digest()
}

function send (res: ServerResponse, status: number, type: string, body: string | Uint8Array, policy = PAGE_POLICY): void {
  res.writeHead(status, {
    'content-type': type,
    'content-security-policy': policy,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cross-origin-resource-policy': 'same-origin',
    'cross-origin-opener-policy': 'same-origin',
    'x-frame-options': 'DENY',
    'cache-control': 'no-store'
  })
  res.end(body)
}

function sendJson (res: ServerResponse, status: number, value: unknown): void {
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(value))
}

function statusOf (err: unknown): number {
  if (err instanceof BadRequest || err instanceof TypeError || err instanceof RangeError) return 400
  if (!isDdsError(err)) return 500
  if (err.code === ErrorCodes.PATH_NOT_FOUND || err.code === ErrorCodes.NOT_FOUND) return 404
  if (err.code === ErrorCodes.PATH_INVALID || err.code === ErrorCodes.CID_INVALID) return 400
  return 500
}

function errorJson (err: unknown): { error: { code: string, message: string } } {
  if (isDdsError(err)) return { error: { code: err.code, message: err.message } }
  if (statusOf(err) === 400) return { error: { code: 'BAD_REQUEST', message: (err as Error).message } }
  return { error: { code: 'INTERNAL', message: 'internal error' } }
}

/** Headers of every download: never a document, never shared across origins. */
const RAW_HEADERS = {
  'content-security-policy': RAW_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
  'cache-control': 'no-store'
}

async function sendRaw (store: Store, res: ServerResponse, q: URLSearchParams): Promise<void> {
  const target = q.get('target')
  if (target === null || target === '') throw new BadRequest('missing query argument target')
  const cid = await artifactOf(store, parseTarget(target))
  const format = q.get('format')
  if (format !== null && format !== 'csv') throw new BadRequest('format must be csv')
  if (format === 'csv') {
    const csv = await csvBytes(store, cid)
    if (csv === undefined) throw new BadRequest('format csv needs a table or an array of plain row objects')
    res.writeHead(200, { ...RAW_HEADERS, 'content-type': 'text/csv; charset=utf-8', 'content-disposition': `attachment; filename="${cid.toString()}.csv"` })
    for (const p of csv) if (!res.write(p)) await new Promise((resolve) => res.once('drain', resolve))
    res.end()
    return
  }
  const info = await store.artifactInfo(cid)
  const pieces = catBytes(store, cid)
  const first = await pieces.next()
  const bytes = first.done === true ? new Uint8Array(0) : (typeof first.value === 'string' ? Buffer.from(first.value) : first.value)
  // Shown inline only as an image whose bytes say so; everything else is a download.
  const mime = q.get('inline') === 'image' ? imageType(bytes) : undefined
  const ext = mime === undefined ? (info.enc === ARROW_ENC ? '.arrow' : '') : mime === 'image/svg+xml' ? '.svg' : mime === 'image/png' ? '.png' : '.jpg'
  res.writeHead(200, {
    ...RAW_HEADERS,
    'content-type': mime ?? 'application/octet-stream',
    'content-disposition': `${mime === undefined ? 'attachment' : 'inline'}; filename="${cid.toString()}${ext}"`
  })
  res.write(bytes)
  for await (const p of pieces) if (!res.write(p)) await new Promise((resolve) => res.once('drain', resolve))
  res.end()
}

function indexHtml (token: string | null): string {
  // The token is base64url, safe inside an attribute; the page reads it back from its own address.
  const t = token === null ? '' : `?token=${token}`
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>dds</title><link rel="icon" href="data:,"><link rel="stylesheet" href="/vendor/uplot.css${t}"><link rel="stylesheet" href="/style.css${t}">
<script src="/vendor/uplot.js${t}" defer></script><script src="/vendor/svg-pan-zoom.js${t}" defer></script><script type="module" src="/app.js${t}"></script>
</head><body><header><a href="#/" class="brand">dds</a><nav><a href="#/">Paths</a><a href="#/lineage">Lineage</a></nav><span id="live"></span></header><main id="main"></main></body></html>
`
}

/**
 * Serve a read-only web view of `store` until `close()`: paths, histories,
 * evaluations, metrics and lineage. On loopback by default; on any other
 * host a random access token (returned, and in `url`) is required.
 *
 * @example
 * const s = await serve(store, { port: 0 })
 * console.log(s.url) // http://127.0.0.1:40123/
 * await s.close()
 */
export async function serve (store: Store, options: ServeOptions = {}): Promise<Serving> {
  const host = options.host ?? '127.0.0.1'
  const port = options.port ?? 0
  if (typeof host !== 'string' || host === '') throw new TypeError('host must be a non-empty string')
  if (!Number.isSafeInteger(port) || port < 0 || port > 65535) throw new RangeError('port must be an integer from 0 to 65535')
  const loopback = isLoopback(host)
  const token = options.token ?? (loopback ? null : randomBytes(24).toString('base64url'))
  if (token !== null && (typeof token !== 'string' || !/^[\w-]{16,}$/.test(token))) throw new TypeError('token must be at least 16 letters, digits, "_" or "-"')
  if (options.root !== undefined && (typeof options.root !== 'string' || options.root === '')) throw new TypeError('root must be a non-empty path')
  const context = options.root === undefined ? {} : { root: options.root }
  const vendor = vendorFiles()
  const dir = clientDir()
  const tokenDigest = token === null ? null : digest(token)
  let bound = port

  const allowedHost = (h: string | undefined): boolean => {
    if (!loopback) return true // the token guards it; a name on the network may be anything
    if (h === undefined) return false
    const m = /^(.*):(\d+)$/.exec(h)
    return m !== null && Number(m[2]) === bound && isLoopback(m[1] as string)
  }
  const authorised = (req: IncomingMessage, url: URL): boolean => {
    if (tokenDigest === null) return true
    const auth = req.headers.authorization
    const given = url.searchParams.get('token') ?? (auth?.startsWith('Bearer ') === true ? auth.slice(7) : null)
    return given !== null && timingSafeEqual(digest(given), tokenDigest)
  }

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (!allowedHost(req.headers.host)) return sendJson(res, 421, { error: { code: 'BAD_HOST', message: 'this server answers only to its loopback address' } })
    const url = new URL(req.url ?? '/', 'http://localhost')
    if (!authorised(req, url)) return sendJson(res, 401, { error: { code: 'TOKEN_REQUIRED', message: 'this server needs its access token (?token=)' } })
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, { error: { code: 'READ_ONLY', message: 'the web view is read-only' } })
    const p = url.pathname
    if (p === '/') return send(res, 200, 'text/html; charset=utf-8', indexHtml(token))
    const client = Object.hasOwn(CLIENT, p) ? CLIENT[p] : undefined
    if (client !== undefined) return send(res, 200, client.type, await readFile(`${dir}/${client.file}`))
    const lib = vendor.get(p)
    if (lib !== undefined) return send(res, 200, (VENDOR[p] as { type: string }).type, await readFile(lib))
    try {
      if (p === '/raw') return await sendRaw(store, res, url.searchParams)
      const route = p.startsWith('/api/') ? apiRoute(p.slice(5)) : undefined
      if (route === undefined) return sendJson(res, 404, { error: { code: 'NOT_FOUND', message: 'no such page' } })
      sendJson(res, 200, await route(store, url.searchParams, context))
    } catch (err) {
      const status = statusOf(err)
      if (res.headersSent) { res.destroy(); return }
      sendJson(res, status, errorJson(err))
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => { if (!res.headersSent) sendJson(res, 500, errorJson(undefined)); else res.destroy() })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => { server.off('error', reject); resolve() })
  })
  const address = server.address()
  bound = typeof address === 'object' && address !== null ? address.port : port
  const shown = host.includes(':') ? `[${host}]` : host
  return {
    url: `http://${shown}:${bound}/${token === null ? '' : `?token=${token}`}`,
    host,
    port: bound,
    token,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => { resolve() }))
    }
  }
}
