/**
 * The cleaned observations as an Arrow table (one column per field), for
 * tools that read columnar data; `dds cat /weather/daily --format csv` prints it.
 */
import { tableFromArrays, type Table } from 'apache-arrow'
import type { Observation } from './clean.js'

/** The observations as columns: date, city, temperature, rain. */
export function dailyTable (rows: Observation[]): Table {
  return tableFromArrays({
    date: rows.map((r) => r.date),
    city: rows.map((r) => r.city),
    tempC: Float64Array.from(rows, (r) => r.tempC),
    rainMm: Float64Array.from(rows, (r) => r.rainMm)
  })
}
