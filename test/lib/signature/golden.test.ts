/**
 * Golden signatures: the digests of a few fixture functions and of their
 * manifests, pinned byte for byte. Stores written by earlier versions are
 * only reused when signatures stay identical, so a refactoring of the engine
 * must leave these unchanged; a deliberate change of the algorithm updates
 * them together with ALGORITHM.
 */
import { encode as cborEncode } from '@ipld/dag-cbor'
import { createHash } from 'node:crypto'
import t from 'tap'
import { SignatureEngine } from '../../../lib/signature/index.js'
import { DdsError, ErrorCodes } from '../../../store/errors.js'
import * as F from './fixtures/golden/functions.js'
import { makeHashValue } from './fixtures/stub.js'

const engine = new SignatureEngine()
const hashValue = makeHashValue({ signature: (fn, o) => engine.signature(fn, o), unhashable: (label) => new DdsError(ErrorCodes.UNHASHABLE, label) })
const hex = (u: Uint8Array): string => Buffer.from(u).toString('hex')

const targets: Record<string, Function> = {
  plain: F.plain,
  sameFile: F.sameFile,
  viaBarrel: F.viaBarrel,
  viaNamespace: F.viaNamespace,
  usesClass: F.usesClass,
  readsMutable: F.readsMutable,
  apiRun: F.api.run,
  apiOther: F.api.other,
  addThree: F.addThree,
  usesPackage: F.usesPackage,
  dynamic: F.dynamic,
  fact: F.fact,
  fromText: F.fromText,
  boundPlain: F.boundPlain
}

/** The signature digests (each the sha256 of the manifest's dag-cbor bytes, checked below). */
const GOLDEN: Record<string, string> = {
  plain: 'e4a0f56d5624385d47b079e413c176c6e0c783ca85e0b007571f3ac92a5ef58f',
  sameFile: '323f724763a98c0b7bc9765eee821688b781ba174984d7c4e5588c1dfb9bfd87',
  viaBarrel: '950434d06d2489c0fd657c1c2927229d3ac5a7331631d189173be6626fd7fe90',
  viaNamespace: '1b19a7e70ba0362be6ab760259ab241fe99f9cf28b469493f661f8185494195b',
  usesClass: '2621ef5670f0fca855b298669b8694595bd328508ccb4f8ee87da73aa7dd7921',
  readsMutable: 'b75cca4753c8072d785b27f9c1848749796623e6339fcb57f4a5bc912265d800',
  apiRun: '8b95a76392e8750eda9454cfd576b78be487f86b46edaf12c3dd2ae10d8a4c93',
  apiOther: '59fefaadf520af38f2f26082865c5e70e438cd89dc3d7bbbfd95c1bf4f844e2b',
  addThree: '5101779fe923f00a24f462b375ff23c598faa99b662df3b21d67b0f3d4382554',
  usesPackage: 'aba83579f0c0f50c7286896e8181a900777a885dc7426f3338079f6fb3c8e4e4',
  dynamic: '7483394f6e78076355a483afe46035a571f7a8b58a5e613fd8f1ed561277591d',
  fact: '87e94b50bc4090ff009361a6d26be86ad5a6117a424601dab6c863d58bb03581',
  fromText: '27b324450effef87c629b0b473a74f3d2c65b63838532e3e7a00fb9ef947afa7',
  boundPlain: 'c5ca08e6659fb87862c98ee311a9c126fa4c846e30aa56c8459cc385bbf1e9b9'
}

const actual: Record<string, [string, string]> = {}
for (const [name, fn] of Object.entries(targets)) {
  const s = engine.signature(fn, { hashValue })
  actual[name] = [hex(s.digest), createHash('sha256').update(cborEncode(s.manifest)).digest('hex')]
}

if (process.env.DDS_PRINT_GOLDEN === '1') console.error(JSON.stringify(actual, null, 2))

t.test('signatures are byte-identical to the pinned ones', async (t) => {
  for (const name of Object.keys(targets)) t.equal(actual[name]![0], GOLDEN[name], name)
})

t.test('the digest is the sha256 of the manifest', async (t) => {
  for (const name of Object.keys(targets)) t.equal(actual[name]![0], actual[name]![1], name)
})
