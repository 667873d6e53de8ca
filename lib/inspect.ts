/**
 * The questions a viewer asks of a store, answered as plain JSON-ready data
 * (CIDs as strings, ISO times, no class instances): resolve a target, describe
 * an evaluation, list paths and a path's history (paginated), why a path
 * re-ran, its lineage. The `dds` command and the web view are built on these.
 */
export type * from './inspect/interface.js'
export { parseTarget, resolveTarget, entryOf, evaluationOf, artifactOf, inputValue, type Target } from './inspect/target.js'
export { describeEvaluation, evaluationView, inputDisplay } from './inspect/evaluation.js'
export { currentSources, sourcesOf } from './inspect/working-tree.js'
export { tablePage, ARROW_ENC, TABLE_PAGE_LIMIT } from './inspect/arrow-table.js'
export { rowSource, csvPieces, jsonlPieces, cellText, type RowSource } from './inspect/rows.js'
export { jsonPieces, looksLikeText } from './inspect/json-text.js'
export { pathRows, listPaths, historyRows, pathHistory, type OnProblem, type PathListOptions, type HistoryOptions } from './inspect/listing.js'
export { explain, changeView, type WhyRef } from './inspect/why.js'
export { lineageView, lineageJson } from './inspect/lineage.js'
export { showCanonical } from './inspect/json.js'
export { historyTable, metricsOf } from './inspect/table.js'
export { diskUsage } from './inspect/disk.js'
