/**
 * The vocabulary of the inspect queries: what a viewer (the `dds` command,
 * a web view) gets back. Every shape is plain JSON-ready data: CIDs as
 * strings, times as ISO 8601 strings, durations as milliseconds, no class
 * instances, so that a result can be sent as it is.
 */

/** A function as stored in an evaluation record. */
export interface FunctionView {
  /** `''` for an anonymous function. */
  name: string
  file: string | null
  line: number | null
  column: number | null
}

/** What a target string (`PATH`, `PATH@SEQ` or a CID) names. */
export interface TargetView {
  /** `evaluation` for a path, a history entry or an evaluation CID; `artifact` for an artifact CID. */
  kind: 'evaluation' | 'artifact'
  /** The evaluation, or null for an artifact CID (an artifact does not know who made it). */
  evaluation: string | null
  /** The artifact: the evaluation's output, or the CID itself. */
  output: string
  /** The path of the history entry, or the path the evaluation was kept at. */
  path: string | null
  /** The history sequence number, when the target was a path. */
  seq: number | null
}

/** One path of a store: its current (or last) history entry. */
export interface PathRow {
  path: string
  seq: number
  evaluation: string | null
  output: string | null
  /** Output size in bytes; null when deleted or when the artifact is unreadable (see the page's problems). */
  size: number | null
  /** Row count and schema when the output is an Arrow table, else null. */
  table: TableView | null
  time: string
  deleted: boolean
  hit: boolean
  imported: boolean
  /** The tags on any entry of this path's history, by name (see `dds tag`). */
  tags: TagRef[]
}

/** A tag as a row names it: its name and the history entry it is on. */
export interface TagRef {
  name: string
  seq: number
}

/** `computed`: the function ran; `hit`: the value came from the store; `deleted`: a deletion entry. */
export type EntryStatus = 'computed' | 'hit' | 'deleted'

/** One history entry of a path. */
export interface HistoryRow {
  seq: number
  time: string
  status: EntryStatus
  imported: boolean
  evaluation: string | null
  output: string | null
  /** Null for a deletion, or when the evaluation record is unreadable (see the page's problems). */
  function: FunctionView | null
  started: string | null
  /** Milliseconds the function took when it ran, 0.1 ms precision. */
  duration: number | null
  /** The tags naming this entry (see `dds tag`). */
  tags: string[]
}

/** Something that could not be read while answering: the answer is still given, without it. */
export interface ProblemView {
  /** `PATH` or `PATH@SEQ`. */
  where: string
  code: string
  message: string
}

/** One page of a long list; `next` is the cursor of the following page, null on the last one. */
export interface Page<T> {
  items: T[]
  next: string | null
  problems: ProblemView[]
}

/** Which page: after a cursor (from `next`), or after skipping `offset` items; at most `limit` items. */
export interface PageOptions {
  limit?: number
  offset?: number
  cursor?: string
}

/** An argument of an evaluation, by position. */
export interface InputView {
  index: number
  /** The argument's identity: the CID of its canonical form, or of the kept value passed. */
  cid: string
  /** The canonical form when the argument was small enough to be stored (as JSON), else null. */
  value: unknown
  /** A short readable rendering (`"celsius"`, `Map(2) {...}`, `kept value of /data/rows`), or null. */
  display: string | null
}

/** An evaluation in full: what ran, with which code and inputs, what it read and returned. */
export interface EvaluationView {
  evaluation: string
  kind: string
  path: string | null
  function: FunctionView
  started: string
  duration: number
  /** The memo key, hex. */
  signature: string
  code: {
    cid: string
    algorithm: string
    entry: string
    pinned: string | null
    /** Every declaration the function reaches (`file#name`) and its canonical hash, hex, sorted by name. */
    declarations: Record<string, string>
    values: Record<string, string>
    packages: Record<string, string>
    unavailable: string[]
  }
  inputs: InputView[]
  loads: Array<{ path: string, evaluation: string | null, output: string }>
  /** Files the run read (see `file()`), as they were then. */
  files: FileView[]
  calls: Array<{ evaluation: string, path: string | null, function: FunctionView | null }>
  /** `table` describes an Arrow table (null for every other value). */
  output: { cid: string, enc: string, type: string | null, size: number, chunks: number, table: TableView | null }
}

/**
 * The current text of one declaration a manifest names, from the working
 * tree. `status` says why there is no text: `outside` (the key would leave
 * the project root), `package` (another package's key), `missing`,
 * `too-large`, `not-found` (the file no longer declares it), `unparsed`.
 */
export interface CurrentSourceView {
  /** The manifest's key, `file#name`. */
  key: string
  file: string
  name: string
  status: 'ok' | 'outside' | 'package' | 'missing' | 'too-large' | 'not-found' | 'unparsed'
  /** First line of the declaration in the file, 1-based, when found. */
  line: number | null
  text: string | null
}

/** The source of the declarations an evaluation reached. */
export interface SourcesView {
  /** The manifest's entry (`src/train.ts#train`). */
  entry: string
  /**
   * Their text as it was when the evaluation ran, by key: always null today,
   * since a code manifest holds only each declaration's canonical hash.
   */
  recorded: Record<string, string> | null
  /** Their text in the working tree now, the entry first; null when no project root was given. */
  current: CurrentSourceView[] | null
}

/** An Arrow table artifact: its row count and schema (column name, Arrow type, nullable). */
export interface TableView {
  rows: number
  columns: Array<{ name: string, type: string, nullable: boolean }>
}

/** A page of an Arrow table's rows: the schema and row count, and each row's cells as text (null for a missing value). */
export interface TablePageView extends TableView {
  /** Index of the page's first row. */
  offset: number
  cells: Array<Array<string | null>>
}

/** A file an evaluation read: its digest in hex (`absent` when the path did not exist), size, and modification time. */
export interface FileView {
  path: string
  kind: 'file' | 'dir' | 'tree' | 'stat'
  digest: string
  size: number
  mtime: string
}

/** One side of a why comparison. */
export interface SideView {
  seq: number | null
  time: string | null
  evaluation: string
  started: string
}

/** One difference, as `why` names it, CIDs as strings. */
export type ChangeView = Record<string, unknown> & { kind: string, change: string }

/** Two evaluations of a path compared. */
export interface WhyView {
  path: string
  old: SideView
  new: SideView
  sameSignature: boolean
  identical: boolean
  changes: ChangeView[]
}

/** A path with a single evaluation: computed for the first time, and what it ran with. */
export interface FirstRunView {
  path: string
  first: true
  new: SideView
  ran: EvaluationView
}

/** An evaluation in the lineage graph. */
export interface LineageNodeView {
  id: string
  evaluation: string | null
  path: string | null
  function: { name: string, file: string | null, line: number | null } | null
  started: string | null
  duration: number | null
  current: boolean
  missing: boolean
}

/** Data flowing between evaluations: an argument (`input`), a loaded path, a nested keep. */
export interface LineageEdgeView {
  from: string
  to: string
  kind: 'input' | 'load' | 'call'
  path: string | null
  index?: number
}

/** The lineage graph as data. */
export interface LineageView {
  nodes: LineageNodeView[]
  edges: LineageEdgeView[]
}

/** Where the namespace is read: the store itself, or the remote it is a cache of. */
export interface SourceOptions {
  /** Paths and histories of the store's remote (the team's store) instead of the local ones. */
  remote?: boolean
}

/** An output at a glance: how it is stored and, when small enough, a short rendering of its value. */
export interface OutputSummary {
  cid: string
  enc: string
  type: string | null
  size: number
  /** `12.5`, `{ accuracy: 0.91, … }`, `"text…"`; null for bytes and large values. */
  display: string | null
}

/** A row of a path's history table: the entry, its arguments, its output, and what changed against the entry before it. */
export interface HistoryTableRow extends HistoryRow {
  /** Each argument, short (`"celsius"`, `kept value of /data/raw`); empty for a deletion. */
  args: string[]
  /** The output's encoding, size and short rendering (`output` keeps its CID). */
  summary: OutputSummary | null
  /**
   * What differs from the previous (older) entry, as `why` names it
   * (`declaration changed clean.ts#clean`); empty when it is the same
   * evaluation; null for the oldest entry or when either side is unreadable.
   */
  changes: string[] | null
}

/** Numbers taken from a path's outputs over its history, oldest first, one series per field. */
export interface MetricsView {
  path: string
  seq: number[]
  time: string[]
  /** `value` for a numeric output, else the dotted names of numeric fields (`scores.f1`); null where an entry lacks it. */
  fields: Record<string, Array<number | null>>
}

/** One path in `dds du`: bytes of its current value and of its older values. */
export interface DiskRow {
  path: string
  /** Bytes of the current value's blocks (0 for a deleted path). */
  current: number
  /** Bytes of the older values' blocks not shared with the current value. */
  history: number
  /** History entries of the path (tombstones included). */
  entries: number
  deleted: boolean
}

/** `dds du` as data: per path, then totals in which a block shared by several values counts once. */
export interface DiskUsage {
  paths: DiskRow[]
  total: {
    /** Bytes of the listed paths' current values. */
    current: number
    /** Bytes of their older values beyond those. */
    history: number
    /** `current + history`: every block once. */
    all: number
  }
  /** Bytes of every block in the store (records, values, and garbage gc would free): what a gc budget measures. */
  store: number
  /** Paths whose head could not be read (DDS_INTEGRITY): left out of the rows and totals. */
  problems: ProblemView[]
}
