/**
 * dds-ts/store: the persistent engine. Blocks by CID, artifacts, evaluation
 * records, the memo index and the path namespace with history.
 */
export { DdsError, ErrorCodes, isDdsError, type ErrorCode, type DdsErrorOptions } from './errors.js'
export { openStore, Store, Pending, defaultLocation, FORMAT_VERSION, type StoreOptions, type ArtifactInfo, type PathUpdate, type CommitOptions, type CommitResult } from './store.js'
export { openMemory, openLevelExclusive, LevelBackend, DirectoryBlobs, SPACES, NOT_SYNC, type Backend, type BatchOp, type BlobFiles, type Lock, type RangeOptions, type Space, type ClassicOptions } from './backend.js'
export { openShared, SharedBackend, socketPath, type SharedOptions } from './shared.js'
export type { LeaseHolder, LeaseMode, LeaseRequest, LeaseResult } from './leases.js'
export { cidOf, parseCID, verifyBlock, sha256, blake3, RAW_CODE, DAG_CBOR_CODE, CID, type HashName } from './hash.js'
export { validatePath, pathProblem, checkNoOverlap, MAX_PATH_LENGTH } from './paths.js'
export { encodeValue, decodeValue, checkSerializable, type Encoding, type Payload, type TypedArrayName } from './values.js'
export type { ArtifactRoot, BundleManifest, CodeManifest, EvaluationRecord, FileKind, FileRef, FunctionInfo, HistoryEntry, LoadRef, MemoEntry, PathEntry } from './records.js'
export { openRemote, pushPaths, pullPaths, type Remote, type RemoteOptions, type MemoPack, type PackChunk, type SyncResult } from './remote/index.js'
export { exportBundle, importBundle, BUNDLE_FORMAT, type ExportOptions, type ExportResult, type ImportOptions, type ImportResult, type ImportedPath, type BundleProblem } from './bundle.js'
export { verifyStore, walkStore, linksOf, BlockIndex, type VerifyReport, type VerifyStep, type VerifyOptions, type Problem, type ProblemKind, type Link, type Role } from './verify.js'
export { gc, type GcOptions, type GcReport } from './gc.js'
export { loadsKey, dependenciesKey } from './memo-keys.js'
