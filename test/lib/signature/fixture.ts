/**
 * The fixture project of the signature scenarios (SCENARIOS.md 9-21): a small
 * pipeline with helpers in the same file, in other files, behind a barrel,
 * module constants, a computed constant, a class, a closure, recursion and a
 * fake package. Its driver prints the signature of every target function.
 */
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { distModule } from '../../helpers/project.js'

const here = dirname(fileURLToPath(import.meta.url))

/** The functions whose signatures the driver prints. */
export const TARGETS = [
  'target', 'unrelated', 'viaMap', 'usesClass', 'scaler', 'usesTable', 'shadow', 'shadowImport',
  'computedN', 'fact', 'isEven', 'cosmetic', 'viaDeep'
] as const

/** One target's signature as printed by the driver. */
export interface PrintedSignature {
  digest: string
  entry: string
  declarations: Record<string, string>
  values: Record<string, string>
  packages: Record<string, string>
  unavailable: string[]
  warnings: string[]
  fn: { name: string, file?: string, line?: number, column?: number }
}

/** What the driver prints. */
export interface DriverOutput {
  signatures: Record<string, PrintedSignature>
  /** `usesTable` before and after pushing to the module-level array in-process. */
  mutation: { before: string, after: string }
}

const CONFIG = `export const RATE = 0.5
export const FROM_ENV: number = Number(process.env.SIG_N ?? '3')
export const TABLE = [1, 2, 3]
export const LOOKUP = new Map([['a', 1]])
`

const DEEP = `export function deep(x: number): number {
  return x + 1
}

export function deepUnused(x: number): number {
  return x - 100
}
`

const MATH = `import { RATE } from '../config.js'
import { deep } from './deep.js'

/** Applies the rate. */
export function applyRate(x: number): number {
  return deep(x) * RATE
}

export function unusedMath(x: number): number {
  return x - 1
}
`

const BARREL = `export * from './math.js'
export { deep as deepAlias } from './deep.js'
`

const MODEL = `export class Model {
  private weight: number
  constructor(weight: number) {
    this.weight = weight
  }
  predict(x: number): number {
    return x * this.weight
  }
}
`

const PIPELINE = `import { leftPad } from 'fakedep'
import { applyRate } from './util/index.js'
import * as util from './util/index.js'
import * as cfg from './config.js'
import { TABLE, LOOKUP } from './config.js'
import { Model } from './model.js'

const LOCAL_K = 7
const N = Number(process.env.SIG_N ?? '3')

function helperSame(x: number): number {
  return x + LOCAL_K
}

export function target(x: number): number {
  const y = helperSame(x)
  return applyRate(y) + cfg.FROM_ENV + leftPad('a').length
}

export function unrelated(x: number): number {
  return x * 2
}

function g(item: number): number {
  return item * 3
}

export function viaMap(items: number[]): number[] {
  return items.map(g)
}

export function usesClass(): number {
  return new Model(2).predict(3)
}

export function makeScaler(factor: number) {
  return (x: number) => x * factor
}

export const scaler = makeScaler(Number(process.env.SIG_FACTOR ?? '2'))

export function usesTable(): number {
  return TABLE.length + (LOOKUP.get('a') ?? 0)
}

export function shadow(): number {
  const LOCAL_K = 2
  return LOCAL_K
}

export function shadowImport(): number {
  const applyRate = (x: number) => x
  return applyRate(1)
}

export function computedN(): number {
  return N
}

export function fact(n: number): number {
  return n <= 1 ? 1 : n * fact(n - 1)
}

export function isEven(n: number): boolean {
  return n === 0 ? true : isOdd(n - 1)
}

function isOdd(n: number): boolean {
  return n === 0 ? false : isEven(n - 1)
}

export function cosmetic(values: number[]): number {
  let total = 0
  for (const value of values) total += value
  return total
}

export function viaDeep(x: number): number {
  return util.deepAlias(x)
}
`

function driver (): string {
  return `import { codeSignature } from ${JSON.stringify(distModule('lib/signature/index.js'))}
import { DdsError, ErrorCodes } from ${JSON.stringify(distModule('store/errors.js'))}
import { makeHashValue } from './stub.js'
import * as p from './pipeline.js'
import { TABLE } from './config.js'

const hashValue = makeHashValue({ signature: codeSignature, unhashable: (label: string) => new DdsError(ErrorCodes.UNHASHABLE, label) })
const hex = (u: Uint8Array) => Buffer.from(u).toString('hex')
const map = (r: Record<string, Uint8Array>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, hex(v)]))
const signatures: Record<string, unknown> = {}
for (const name of ${JSON.stringify(TARGETS)}) {
  const s = codeSignature((p as any)[name], { hashValue })
  signatures[name] = { digest: hex(s.digest), entry: s.manifest.entry, declarations: map(s.manifest.declarations), values: map(s.manifest.values), packages: s.manifest.packages, unavailable: s.manifest.unavailable, warnings: s.warnings, fn: s.fn }
}
const before = hex(codeSignature(p.usesTable, { hashValue }).digest)
TABLE.push(4)
const after = hex(codeSignature(p.usesTable, { hashValue }).digest)
console.log(JSON.stringify({ signatures, mutation: { before, after } }))
`
}

/**
 * The files of the fixture project.
 *
 * @example
 * const p = createProject(fixtureFiles())
 */
export function fixtureFiles (): Record<string, string> {
  return {
    'src/config.ts': CONFIG,
    'src/util/deep.ts': DEEP,
    'src/util/math.ts': MATH,
    'src/util/index.ts': BARREL,
    'src/model.ts': MODEL,
    'src/pipeline.ts': PIPELINE,
    'src/stub.ts': readFileSync(join(here, 'stub.ts'), 'utf8'),
    'src/driver.ts': driver(),
    'node_modules/fakedep/package.json': JSON.stringify({ name: 'fakedep', version: '1.0.0', main: 'index.js' }),
    'node_modules/fakedep/index.js': "exports.leftPad = (s) => ' ' + s\n"
  }
}
