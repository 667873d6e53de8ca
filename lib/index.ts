/**
 * dds-ts: data-driven software for TypeScript and JavaScript.
 */
export { keep, keepEach, evaluate, load, dataFunction, configure, closeDefault } from './default.js'
export { open, DdsInstance } from './dds.js'
export { annotate, identify } from './annotations.js'
export { file, dir } from './files/explicit.js'
export { identity } from './value-hash.js'
export { DdsError, ErrorCodes, isDdsError, type ErrorCode } from '../store/errors.js'
export type { Codec, Encoded, EncodedForm } from '../store/interface.js'
export type { AnyFunction, Dds, DdsEvent, DdsOptions, FunctionAnnotations, Kept, LoadOptions } from './interface.js'
export type { EachOptions, RunOn } from './parallel/interface.js'
export { why, compareEvaluations, compareManifests, type Change, type Comparison, type WhyResult, type EvaluationRef } from './why.js'
export { lineage, toDot, toMermaid, toSvg, type LineageGraph, type GraphNode, type GraphEdge } from './graph.js'
export {
  parseTarget, resolveTarget, describeEvaluation, listPaths, pathHistory, pathRows, historyRows, explain, lineageView,
  type Target, type TargetView, type EvaluationView, type PathRow, type TagRef, type HistoryRow, type Page, type PageOptions,
  type WhyView, type FirstRunView, type LineageView, type SourceOptions
} from './inspect.js'
