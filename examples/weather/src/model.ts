import type { Observation } from './clean.js'
import { linearFit } from './math.js'

/** temp ≈ a + b·season(day), where season is -1 in mid-January and +1 in mid-July. */
export interface SeasonalModel {
  a: number
  b: number
  r2: number
}

const COLDEST_DAY = 15

export function season (dayOfYear: number): number {
  return -Math.cos((2 * Math.PI * (dayOfYear - COLDEST_DAY)) / 365)
}

/** Fit one seasonal temperature model per city. */
export function fitSeasonal (rows: Observation[]): Record<string, SeasonalModel> {
  const cities = [...new Set(rows.map((r) => r.city))].sort()
  const out: Record<string, SeasonalModel> = {}
  for (const city of cities) {
    const obs = rows.filter((r) => r.city === city)
    out[city] = linearFit(obs.map((o) => season(o.dayOfYear)), obs.map((o) => o.tempC))
  }
  return out
}
