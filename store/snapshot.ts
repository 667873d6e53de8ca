/**
 * A store opened read-only, writing nothing under the store directory: for a
 * store one can read but not write (another user's, `chmod -R a-w`, a
 * read-only mount, a full disk) or one held by a process that cannot be
 * reached. LevelDB cannot open a directory it may not lock and write, so its
 * files are copied to a private temporary directory and the copy is opened;
 * blob files are read in place. The copy is the index as it was when opened.
 * Every write is refused with DDS_STORE_UNAVAILABLE and the reason the store
 * was opened read-only.
 */
import { copyFile, chmod, mkdtemp, readdir, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { DdsError, ErrorCodes } from './errors.js'
import { DirectoryBlobs, openLevelExclusive, type ClassicOptions, type LevelBackend } from './backend.js'
import { openFailure } from './open-errors.js'
import { NOT_SYNC, type Backend, type BatchOp, type BlobFiles, type BlobReadHandle, type BlobWriteHandle, type CommitOptions, type CommitResult, type LeaseRequest, type LeaseResult, type OpenFailure, type PathUpdate, type RangeOptions, type Space } from './interface.js'

/** The files of a LevelDB directory that hold data (not its LOCK or its text log). */
const DATA_FILE = /^(CURRENT|MANIFEST-\d+|\d+\.(log|ldb|sst))$/

/** A live writer may compact (delete and add files) while the copy is taken: try again this often. */
const COPY_ATTEMPTS = 4

/** Why a store is open read-only, in words. */
const WHY: Record<OpenFailure, string> = {
  permission: 'this user may not write it',
  'not-a-directory': 'it is not a directory',
  locked: 'another process holds it',
  'disk-full': 'its disk is full',
  'read-only': 'it is read-only'
}

function refused (location: string, reason: OpenFailure, what: string): DdsError {
  return new DdsError(ErrorCodes.STORE_UNAVAILABLE,
    `cannot ${what} store ${location}: it was opened read-only (${WHY[reason]})`,
    { data: { location, reason } })
}

/** Blob files read in place; writing or removing one is refused. */
class ReadOnlyBlobs implements BlobFiles {
  readonly #files: DirectoryBlobs
  readonly #refuse: (what: string) => DdsError
  readonly directory: string

  constructor (files: DirectoryBlobs, refuse: (what: string) => DdsError) {
    this.#files = files
    this.#refuse = refuse
    this.directory = files.directory
  }

  async write (): Promise<void> { throw this.#refuse('write to') }
  async remove (): Promise<void> { throw this.#refuse('delete from') }
  async read (name: string, maxBytes: number): Promise<Uint8Array | undefined> { return await this.#files.read(name, maxBytes) }
  async readInto (name: string, target: Uint8Array, offset: number): Promise<number> { return await this.#files.readInto(name, target, offset) }
  async has (name: string): Promise<boolean> { return await this.#files.has(name) }
  async create (): Promise<BlobWriteHandle> { throw this.#refuse('write to') }
  async openRead (name: string): Promise<BlobReadHandle | undefined> { return await this.#files.openRead(name) }
  list (): AsyncIterable<{ name: string, size: number, mtimeMs: number }> { return this.#files.list() }
}

/** A backend over a private copy of a store's database: reads answer, writes are refused (see the top of this file). */
export class SnapshotBackend implements Backend {
  readonly kind = 'classic'
  readonly location: string
  readonly files: BlobFiles
  readonly readOnly: OpenFailure
  readonly getSync: ((space: Space, key: Uint8Array) => Uint8Array | undefined | typeof NOT_SYNC) | undefined
  readonly #db: LevelBackend
  readonly #copy: string

  constructor (location: string, reason: OpenFailure, db: LevelBackend, copy: string, files: BlobFiles) {
    this.location = location
    this.readOnly = reason
    this.#db = db
    this.#copy = copy
    this.files = files
    const sync = db.getSync
    this.getSync = sync === undefined ? undefined : (space, key) => sync(space, key)
  }

  async get (space: Space, key: Uint8Array): Promise<Uint8Array | undefined> { return await this.#db.get(space, key) }
  async getMany (space: Space, keys: Uint8Array[]): Promise<Array<Uint8Array | undefined>> { return await this.#db.getMany(space, keys) }
  entries (space: Space, range?: RangeOptions): AsyncIterable<[Uint8Array, Uint8Array]> { return this.#db.entries(space, range) }
  keys (space: Space, range?: RangeOptions): AsyncIterable<Uint8Array> { return this.#db.keys(space, range) }
  async batch (_ops: BatchOp[]): Promise<void> { throw refused(this.location, this.readOnly, 'write to') }
  async commit (_updates: PathUpdate[], _staged: BatchOp[], _options?: CommitOptions): Promise<CommitResult> { throw refused(this.location, this.readOnly, 'commit to') }
  async lease (_request: LeaseRequest): Promise<LeaseResult> { throw refused(this.location, this.readOnly, 'take a lock in') }

  async close (): Promise<void> {
    try {
      await this.#db.close()
    } finally {
      await rm(this.#copy, { recursive: true, force: true })
    }
  }
}

/**
 * Open the store at `location` read-only, for `reason` (what made writing
 * impossible, or `'read-only'` when read-only access was asked for).
 * DDS_STORE_UNAVAILABLE with a reason when the store cannot even be read.
 *
 * @example
 * const backend = await openSnapshot('/shared/.dds', 'permission')
 * await backend.get('meta', text.encode('format'))
 * await backend.close() // removes the copy
 */
export async function openSnapshot (location: string, reason: OpenFailure = 'read-only', options: ClassicOptions = {}): Promise<SnapshotBackend> {
  const dir = resolve(location)
  const database = join(dir, 'db')
  let found
  try {
    found = await stat(dir)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new DdsError(ErrorCodes.STORE_UNAVAILABLE, `there is no store at ${dir}`, { cause: err, data: { location: dir } })
    }
    throw openFailure(dir, err, 'read')
  }
  if (!found.isDirectory()) throw openFailure(dir, Object.assign(new Error(`${dir} is not a directory`), { code: 'ENOTDIR', path: dir }), 'read')
  const refuse = (what: string): DdsError => refused(dir, reason, what)
  const files = new ReadOnlyBlobs(new DirectoryBlobs(dir, { create: false }), refuse)
  let lastError: unknown
  for (let attempt = 0; attempt < COPY_ATTEMPTS; attempt++) {
    let copy: string
    try {
      copy = await mkdtemp(join(tmpdir(), 'dds-read-'))
    } catch (err) {
      throw openFailure(dir, err, 'copy the index of')
    }
    try {
      await copyDatabase(database, copy)
      const db = await openLevelExclusive(dir, options, { database: copy, files })
      return new SnapshotBackend(dir, reason, db, copy, files)
    } catch (err) {
      await rm(copy, { recursive: true, force: true })
      lastError = err
      // A file that vanished or a manifest naming a file not copied: a writer compacted meanwhile.
      if (!changedMeanwhile(err)) break
    }
  }
  throw openFailure(dir, lastError, 'read')
}

/** Copy the data files of a LevelDB directory, writable by this user (LevelDB replays its log into the copy). */
async function copyDatabase (from: string, to: string): Promise<void> {
  let names: string[]
  try {
    names = await readdir(from)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new DdsError(ErrorCodes.STORE_UNAVAILABLE, `${from} does not exist: ${resolve(from, '..')} is not a dds store`, { cause: err, data: { location: resolve(from, '..') } })
    }
    throw err
  }
  // CURRENT first: the manifest it names, and the files that manifest lists, are copied after it.
  names = names.filter((n) => DATA_FILE.test(n)).sort((a, b) => Number(b === 'CURRENT') - Number(a === 'CURRENT'))
  if (!names.includes('CURRENT')) {
    throw new DdsError(ErrorCodes.STORE_UNAVAILABLE, `${from} holds no LevelDB database: ${resolve(from, '..')} is not a dds store`, { data: { location: resolve(from, '..') } })
  }
  for (const name of names) {
    await copyFile(join(from, name), join(to, name))
    await chmod(join(to, name), 0o600)
  }
}

function changedMeanwhile (err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'LEVEL_CORRUPTION') return true
  }
  return false
}
