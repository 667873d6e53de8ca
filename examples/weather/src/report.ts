import type { CityStats } from './stats.js'
import type { SeasonalModel } from './model.js'

const f1 = (x: number): string => x.toFixed(1)

/** A Markdown report of the statistics and the fitted models. */
export function renderReport (stats: Record<string, CityStats>, models: Record<string, SeasonalModel>): string {
  const lines = [
    '# Weather report',
    '',
    '| city | days | mean °C | std | min | max | rainy days | rain mm | winter °C | summer °C | R² |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |'
  ]
  for (const [city, s] of Object.entries(stats)) {
    const m = models[city]
    const winter = m === undefined ? NaN : m.a - m.b
    const summer = m === undefined ? NaN : m.a + m.b
    lines.push(`| ${city} | ${s.days} | ${f1(s.meanTempC)} | ${f1(s.stdTempC)} | ${f1(s.minTempC)} | ${f1(s.maxTempC)} | ${s.rainyDays} | ${f1(s.totalRainMm)} | ${f1(winter)} | ${f1(summer)} | ${(m?.r2 ?? NaN).toFixed(2)} |`)
  }
  return lines.join('\n') + '\n'
}
