import type { Observation } from './clean.js'
import { mean, std } from './math.js'

export interface CityStats {
  days: number
  meanTempC: number
  stdTempC: number
  minTempC: number
  maxTempC: number
  rainyDays: number
  totalRainMm: number
}

/** Per-city summary statistics. */
export function cityStats (rows: Observation[]): Record<string, CityStats> {
  const byCity = new Map<string, Observation[]>()
  for (const row of rows) byCity.set(row.city, [...(byCity.get(row.city) ?? []), row])
  const out: Record<string, CityStats> = {}
  for (const [city, obs] of [...byCity].sort(([a], [b]) => a.localeCompare(b))) {
    const temps = obs.map((o) => o.tempC)
    out[city] = {
      days: obs.length,
      meanTempC: mean(temps),
      stdTempC: std(temps),
      minTempC: Math.min(...temps),
      maxTempC: Math.max(...temps),
      rainyDays: obs.filter((o) => o.rainMm > 0).length,
      totalRainMm: obs.reduce((s, o) => s + o.rainMm, 0)
    }
  }
  return out
}
