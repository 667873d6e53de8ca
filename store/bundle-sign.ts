/**
 * Signed bundles: ed25519 keys, the signed envelope a bundle's root becomes,
 * and the trusted keys of a store.
 *
 * A signed bundle's CAR root is an envelope `{ format: 'dds-bundle-signed/1',
 * manifest, key, signature }`: the signature is over a fixed prefix and the
 * manifest's CID, and the manifest names (by CID) every block the import
 * writes, so one signature covers the whole bundle. A store trusts the keys
 * listed in `trusted-keys` in its directory (one public key a line, `#`
 * comments) and those passed as `trustedKeys` to importBundle. A store with
 * any trusted key refuses unsigned bundles and signatures by other keys
 * (DDS_BUNDLE_UNTRUSTED). `@noble/curves` is loaded on first use only.
 */
import { readFile, rm, writeFile, open as fsOpen } from 'node:fs/promises'
import { join } from 'node:path'
import { CID } from 'multiformats/cid'
import { DdsError, ErrorCodes } from './errors.js'
import { encodeNode } from './records.js'
import { hex } from './util.js'
import { dynamicImport } from './dynamic-import.js'

/** The format of a signed bundle's root. */
export const SIGNED_FORMAT = 'dds-bundle-signed/1'
/** The file in a store directory that lists the public keys it trusts. */
export const TRUSTED_KEYS_FILE = 'trusted-keys'

const PUBLIC_PREFIX = 'dds-ed25519'
const SECRET_PREFIX = 'dds-ed25519-secret'
/** What is signed is this prefix and the manifest CID's bytes: a signature made for anything else never verifies here. */
const DOMAIN = new TextEncoder().encode('dds-bundle/1 manifest\0')

/** The root of a signed bundle. */
export interface SignedEnvelope {
  format: typeof SIGNED_FORMAT
  manifest: CID
  /** The signer's ed25519 public key (32 bytes). */
  key: Uint8Array
  /** ed25519 signature (64 bytes) of the domain prefix and the manifest CID. */
  signature: Uint8Array
}

type Ed25519 = (typeof import('@noble/curves/ed25519.js'))['ed25519']
let curve: Promise<Ed25519> | undefined

async function ed25519 (): Promise<Ed25519> {
  curve ??= (dynamicImport('@noble/curves/ed25519.js') as Promise<typeof import('@noble/curves/ed25519.js')>).then((m) => m.ed25519, (err: unknown) => {
    curve = undefined
    throw new DdsError(ErrorCodes.DEPENDENCY_MISSING, 'signed bundles need the package @noble/curves (npm install @noble/curves)', { cause: err, data: { package: '@noble/curves' } })
  })
  return await curve
}

function untrusted (problem: 'unsigned' | 'signature' | 'key' | 'trusted-keys' | 'key-file', message: string, data: Record<string, unknown> = {}): DdsError {
  return new DdsError(ErrorCodes.BUNDLE_UNTRUSTED, message, { data: { problem, ...data } })
}

function message (manifest: CID): Uint8Array {
  const out = new Uint8Array(DOMAIN.byteLength + manifest.bytes.byteLength)
  out.set(DOMAIN, 0)
  out.set(manifest.bytes, DOMAIN.byteLength)
  return out
}

/** A public key as the trusted-keys file and `dds keygen` write it. */
export function formatPublicKey (key: Uint8Array): string {
  return `${PUBLIC_PREFIX} ${hex(key)}`
}

/**
 * A public key from its text form (`dds-ed25519 HEX`, or the 64 hex digits
 * alone). Throws DDS_BUNDLE_UNTRUSTED (problem `key`) for anything else.
 */
export function parsePublicKey (text: string): Uint8Array {
  const words = text.trim().split(/\s+/)
  const digits = words[0] === PUBLIC_PREFIX ? words[1] : words[0]
  if (digits === undefined || !/^[0-9a-f]{64}$/i.test(digits)) throw untrusted('key', `not an ed25519 public key: ${JSON.stringify(text.slice(0, 80))}`)
  return Uint8Array.from(Buffer.from(digits, 'hex'))
}

/**
 * Make a key pair: the secret key file (mode 0600, created, never
 * overwritten) and `FILE.pub`. Returns the public key.
 *
 * @example
 * const pub = await generateKeyFile('release.key') // then list formatPublicKey(pub) in trusted-keys
 */
export async function generateKeyFile (file: string): Promise<Uint8Array> {
  const ed = await ed25519()
  const secret = ed.utils.randomSecretKey()
  const pub = ed.getPublicKey(secret)
  // The public file first: when either name is taken, no secret key is left behind.
  await writeFile(`${file}.pub`, `${formatPublicKey(pub)}\n`, { flag: 'wx' })
  try {
    const fh = await fsOpen(file, 'wx', 0o600)
    try {
      await fh.writeFile(`${SECRET_PREFIX} ${hex(secret)}\n${formatPublicKey(pub)}\n`)
    } finally {
      await fh.close()
    }
  } catch (err) {
    await rm(`${file}.pub`, { force: true })
    throw err
  }
  return pub
}

/** The secret key of a key file written by generateKeyFile (DDS_BUNDLE_UNTRUSTED, problem `key-file`, otherwise). */
export async function readSecretKey (file: string): Promise<Uint8Array> {
  const text = await readFile(file, 'utf8')
  for (const line of text.split('\n')) {
    const [prefix, digits] = line.trim().split(/\s+/)
    if (prefix === SECRET_PREFIX && digits !== undefined && /^[0-9a-f]{64}$/i.test(digits)) return Uint8Array.from(Buffer.from(digits, 'hex'))
  }
  throw untrusted('key-file', `${file} is not a dds secret key file (make one with dds keygen)`, { file })
}

/** The encoded envelope that signs `manifest` with `secretKey`. */
export async function signManifest (manifest: CID, secretKey: Uint8Array): Promise<Uint8Array> {
  if (!(secretKey instanceof Uint8Array) || secretKey.byteLength !== 32) throw new TypeError('a signing key is 32 bytes (see readSecretKey)')
  const ed = await ed25519()
  const envelope: SignedEnvelope = { format: SIGNED_FORMAT, manifest, key: ed.getPublicKey(secretKey), signature: ed.sign(message(manifest), secretKey) }
  return encodeNode(envelope)
}

/** The envelope a decoded root is, or undefined when it is not one (an unsigned bundle's manifest). */
export function asEnvelope (node: unknown): SignedEnvelope | undefined {
  if (node === null || typeof node !== 'object' || (node as { format?: unknown }).format !== SIGNED_FORMAT) return undefined
  const o = node as Record<string, unknown>
  const manifest = CID.asCID(o.manifest)
  if (manifest === null || !(o.key instanceof Uint8Array) || o.key.byteLength !== 32 || !(o.signature instanceof Uint8Array) || o.signature.byteLength !== 64) {
    throw untrusted('signature', 'the bundle\'s signed envelope is malformed')
  }
  return { format: SIGNED_FORMAT, manifest, key: o.key, signature: o.signature }
}

/**
 * The keys a store trusts: its trusted-keys file (when the store has a
 * directory and the file exists) and `extra`. A line that is not a key
 * fails (DDS_BUNDLE_UNTRUSTED, problem `trusted-keys`) rather than trusting less than meant.
 */
export async function trustedKeys (location: string | undefined, extra: readonly string[] = []): Promise<Uint8Array[]> {
  const keys = extra.map(parsePublicKey)
  if (location === undefined) return keys
  const file = join(location, TRUSTED_KEYS_FILE)
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return keys
    throw err
  }
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.replace(/#.*/, '').trim()
    if (line === '') continue
    try {
      keys.push(parsePublicKey(line))
    } catch (err) {
      throw untrusted('trusted-keys', `${file}, line ${i + 1}: not an ed25519 public key`, { file, line: i + 1 })
    }
  }
  return keys
}

/**
 * Check a bundle's root against the trusted keys: with none, anything goes;
 * otherwise the root must be an envelope signed by one of them.
 * Throws DDS_BUNDLE_UNTRUSTED (problem `unsigned` or `signature`).
 */
export async function checkSigner (envelope: SignedEnvelope | undefined, trusted: readonly Uint8Array[]): Promise<void> {
  if (envelope === undefined) {
    if (trusted.length > 0) throw untrusted('unsigned', 'this store only imports bundles signed by a trusted key, and this bundle is not signed')
    return
  }
  const ed = await ed25519()
  let valid = false
  try {
    valid = ed.verify(envelope.signature, message(envelope.manifest), envelope.key)
  } catch {
    valid = false
  }
  if (!valid) throw untrusted('signature', 'the bundle\'s signature does not verify', { key: formatPublicKey(envelope.key) })
  if (trusted.length > 0 && !trusted.some((k) => Buffer.from(k).equals(envelope.key))) {
    throw untrusted('signature', `the bundle is signed by ${formatPublicKey(envelope.key)}, which this store does not trust`, { key: formatPublicKey(envelope.key) })
  }
}
