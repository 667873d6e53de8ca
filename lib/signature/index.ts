/**
 * Code signatures: a hash over everything in the user's project a function can
 * reach (its code, helpers in any file, module constants, closure values,
 * package versions), stable under cosmetic edits and the same under tsx and
 * compiled tsc output.
 *
 * @example
 * import { codeSignature } from './signature/index.js'
 * const sig = codeSignature(train, { hashValue })
 */
export { ALGORITHM, codeSignature, SignatureEngine } from './engine.js'
export type { CodeSignature, EngineOptions, SignatureOptions } from './interface.js'
