/**
 * dds-ts/store: the persistent engine's public face. Open a store and read
 * it (paths, histories, evaluations, artifacts), move paths as verifiable
 * bundles or through a team's remote, verify and garbage-collect it, and the
 * error type with its codes. Everything else (backends, parts, encodings)
 * is internal and may change between versions.
 */
export { DdsError, ErrorCodes, isDdsError, type ErrorCode } from './errors.js'
export { openStore, defaultLocation, type Store, type StoreOptions } from './store.js'
export { parseCID } from './hash.js'
export { loadOptional } from './optional.js'
export { validatePath } from './paths.js'
export { deleteTag, listTags, putTag, validateTag, type Tag } from './tags.js'
export type { ArtifactRoot, CodeManifest, EvaluationRecord, FunctionInfo, LoadRef, PathEntry } from './records.js'
export { exportBundle, importBundle, type ExportOptions, type ImportOptions, type ImportResult } from './bundle.js'
export { generateKeyFile, readSecretKey, formatPublicKey, parsePublicKey, TRUSTED_KEYS_FILE } from './bundle-sign.js'
export { verifyStore, type VerifyReport } from './verify.js'
export { repairStore, type Repair } from './repair.js'
export { gc, type GcReport, type GcOptions } from './gc.js'
export { parseAge, parseSize, budgetFromEnv, type Budget } from './budget.js'
export { openRemote, pushPaths, pullPaths, type Remote, type RemoteOptions } from './remote/index.js'
