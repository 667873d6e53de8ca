/**
 * A tiny in-memory S3 endpoint (path-style, no authentication) whose
 * conditional writes can be switched off, to show that a store that ignores
 * them is refused. It answers only what opening a remote needs.
 */
import http from 'node:http'
import { createHash } from 'node:crypto'
import type { AddressInfo } from 'node:net'

export interface FakeS3 {
  endpoint: string
  /** Requests seen, as `METHOD key` (for assertions). */
  requests: string[]
  close: () => Promise<void>
}

export async function fakeS3 (options: { ifNoneMatch: boolean, ifMatch: boolean }): Promise<FakeS3> {
  const objects = new Map<string, { body: Buffer, etag: string, modified: Date }>()
  const buckets = new Set<string>()
  const requests: string[] = []
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x')
      const [, bucket = '', ...rest] = decodeURIComponent(url.pathname).split('/')
      const key = rest.join('/')
      const id = `${bucket}/${key}`
      requests.push(`${req.method ?? ''} ${id}`)
      const obj = objects.get(id)
      res.setHeader('Date', new Date().toUTCString())
      const fail = (status: number, code: string): void => {
        res.statusCode = status
        res.setHeader('Content-Type', 'application/xml')
        res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${code}</Message></Error>`)
      }
      if (key === '') {
        if (req.method === 'PUT') { buckets.add(bucket); res.end(); return }
        if (req.method === 'GET' && url.searchParams.get('list-type') === '2') {
          const prefix = url.searchParams.get('prefix') ?? ''
          const keys = [...objects.keys()].filter((k) => k.startsWith(`${bucket}/${prefix}`)).map((k) => k.slice(bucket.length + 1)).sort()
          res.setHeader('Content-Type', 'application/xml')
          res.end(`<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>${bucket}</Name><Prefix>${prefix}</Prefix><KeyCount>${keys.length}</KeyCount><IsTruncated>false</IsTruncated>${keys.map((k) => `<Contents><Key>${k}</Key></Contents>`).join('')}</ListBucketResult>`)
          return
        }
        if (req.method === 'HEAD') { res.statusCode = buckets.has(bucket) ? 200 : 404; res.end(); return }
        fail(501, 'NotImplemented')
        return
      }
      if (req.method === 'PUT') {
        const inm = req.headers['if-none-match']
        const im = req.headers['if-match']
        if (options.ifNoneMatch && inm === '*' && obj !== undefined) { fail(412, 'PreconditionFailed'); return }
        if (options.ifMatch && typeof im === 'string' && (obj === undefined || obj.etag.replace(/"/g, '') !== im.replace(/"/g, ''))) { fail(412, 'PreconditionFailed'); return }
        const body = Buffer.concat(chunks)
        const etag = `"${createHash('md5').update(body).digest('hex')}"`
        objects.set(id, { body, etag, modified: new Date() })
        res.setHeader('ETag', etag)
        res.end()
        return
      }
      if (req.method === 'GET' || req.method === 'HEAD') {
        if (obj === undefined) { if (req.method === 'HEAD') { res.statusCode = 404; res.end() } else fail(404, 'NoSuchKey'); return }
        res.setHeader('ETag', obj.etag)
        res.setHeader('Last-Modified', obj.modified.toUTCString())
        res.setHeader('Content-Length', String(obj.body.byteLength))
        res.end(req.method === 'GET' ? obj.body : undefined)
        return
      }
      if (req.method === 'DELETE') {
        objects.delete(id)
        res.statusCode = 204
        res.end()
        return
      }
      fail(501, 'NotImplemented')
    })
  })
  await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve) })
  const { port } = server.address() as AddressInfo
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    close: async () => { await new Promise<void>((resolve) => { server.close(() => { resolve() }); server.closeAllConnections() }) }
  }
}
