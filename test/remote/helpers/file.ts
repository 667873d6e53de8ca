/**
 * The shared-directory remote for the tests: one temporary directory per
 * test file, a subdirectory per test (its "prefix"); objects are read and
 * damaged as the files the store keeps them in.
 */
import type { Test } from 'tap'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, promises as fs } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { objectFile } from '../../../store/remote/file-store.js'
import type { RemoteOptions } from '../../../store/remote/interface.js'
import type { RemoteEnv } from './env.js'

/** The `file://` environment of one test file; removed when the file's tests end. */
export function fileEnv (t: Test): RemoteEnv & { dir: (prefix: string) => string } {
  const base = mkdtempSync(join(tmpdir(), 'dds-file-remote-'))
  t.teardown(() => { rmSync(base, { recursive: true, force: true }) })
  let n = 0
  const dir = (prefix: string): string => join(base, prefix)
  const env = {
    name: 'file',
    dir,
    prefix: (name = 't'): string => `${name.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 40)}-${++n}-${randomBytes(3).toString('hex')}`,
    url: (prefix: string): string => pathToFileURL(dir(prefix)).href,
    remote: (prefix: string, _machine = 0, extra: Partial<RemoteOptions> = {}): RemoteOptions => ({ url: env.url(prefix), ...extra }),
    cliEnv: (prefix: string): Record<string, string> => ({ DDS_REMOTE: env.url(prefix) }),
    keys: async (prefix: string, sub = ''): Promise<string[]> => {
      const out: string[] = []
      const walk = async (at: string, rel: string): Promise<void> => {
        const entries = await fs.readdir(at, { withFileTypes: true }).catch(() => [])
        for (const e of entries) {
          if (e.name.startsWith('.')) continue
          if (e.isDirectory()) await walk(join(at, e.name), `${rel}${decodeURIComponent(e.name)}/`)
          else if (e.name.endsWith('~')) out.push(rel + decodeURIComponent(e.name.slice(0, -1)))
        }
      }
      await walk(dir(prefix), '')
      return out.filter((k) => k.startsWith(sub)).sort()
    },
    read: async (prefix: string, key: string): Promise<Uint8Array> => new Uint8Array(await fs.readFile(objectFile(dir(prefix), key).file)),
    overwrite: async (prefix: string, key: string, bytes: Uint8Array): Promise<void> => { await fs.writeFile(objectFile(dir(prefix), key).file, bytes) }
  }
  return env
}
