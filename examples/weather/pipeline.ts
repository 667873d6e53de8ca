/**
 * The weather pipeline: each step is kept at its own path, so a step runs
 * again only when its code (with everything it calls) or its inputs change.
 * With apache-arrow installed (an optional dependency), the cleaned rows are
 * also kept as an Arrow table at /weather/daily.
 */
import { keep } from 'dds-ts'
import { readCsv } from './src/csv.js'
import { cleanRows } from './src/clean.js'
import { cityStats } from './src/stats.js'
import { fitSeasonal } from './src/model.js'
import { renderReport } from './src/report.js'

/** The report for the CSV at `csvFile`; the first step reads it, so an edit of the file re-runs that step. */
export async function pipeline (csvFile: string): Promise<string> {
  const rows = await keep('/weather/rows', readCsv, csvFile)
  const clean = await keep('/weather/clean', cleanRows, rows)
  const table = await import('./src/table.js').catch(() => undefined)
  if (table !== undefined) await keep('/weather/daily', table.dailyTable, clean)
  const stats = await keep('/weather/stats', cityStats, clean)
  const models = await keep('/weather/model', fitSeasonal, clean)
  return await keep('/weather/report', renderReport, stats, models)
}
