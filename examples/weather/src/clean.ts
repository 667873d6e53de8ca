import type { RawRow } from './csv.js'

/** A cleaned daily observation. */
export interface Observation {
  date: string
  dayOfYear: number
  city: string
  tempC: number
  humidityPct: number | null
  windKmh: number
  rainMm: number
}

/** Readings outside these bounds are sensor errors. */
export const TEMP_BOUNDS = { min: -60, max: 60 }

function normalizeCity (name: string): string {
  const trimmed = name.trim().toLowerCase()
  return trimmed.charAt(0).toUpperCase() + trimmed.slice(1)
}

function dayOfYear (date: string): number | undefined {
  const t = Date.parse(`${date}T00:00:00Z`)
  if (Number.isNaN(t) || !/^\d{4}-\d{2}-\d{2}$/.test(date)) return undefined
  const start = Date.UTC(new Date(t).getUTCFullYear(), 0, 1)
  return Math.floor((t - start) / 86_400_000) + 1
}

function parseNumber (text: string | undefined): number | null {
  if (text === undefined || text.trim() === '' || text.trim() === 'NA') return null
  const n = Number(text)
  return Number.isFinite(n) ? n : null
}

/** Drop duplicates, bad dates and impossible temperatures; normalise city names. */
export function cleanRows (rows: RawRow[]): Observation[] {
  const seen = new Set<string>()
  const out: Observation[] = []
  for (const row of rows) {
    const date = row.date ?? ''
    const doy = dayOfYear(date)
    const temp = parseNumber(row.temp_c)
    if (doy === undefined || temp === null || temp < TEMP_BOUNDS.min || temp > TEMP_BOUNDS.max) continue
    const city = normalizeCity(row.city ?? '')
    const key = `${date}|${city}`
    if (seen.has(key)) continue
    seen.add(key)
    out.push({
      date,
      dayOfYear: doy,
      city,
      tempC: temp,
      humidityPct: parseNumber(row.humidity_pct),
      windKmh: parseNumber(row.wind_kmh) ?? 0,
      rainMm: parseNumber(row.rain_mm) ?? 0
    })
  }
  return out
}
