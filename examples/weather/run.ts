/**
 * Run the weather pipeline on the bundled CSV against the default store
 * (`$DDS_STORE`, else `.dds` in the working directory) and say what ran.
 */
import { writeFile, mkdir } from 'node:fs/promises'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { configure, evaluate, closeDefault, type DdsEvent } from 'dds-ts'
import { pipeline } from './pipeline.js'

const here = dirname(fileURLToPath(import.meta.url))
const events: DdsEvent[] = []
configure({ onEvent: (e) => { events.push(e) } })

const t0 = performance.now()
// Relative to the working directory: the argument (part of the memo key) does not depend on where the checkout is.
const csv = relative(process.cwd(), join(here, 'data', 'weather.csv'))
const report = await evaluate(pipeline, csv)
const elapsed = performance.now() - t0

for (const e of events) {
  if (e.type === 'computed') console.log(`computed  ${e.path.padEnd(16)} ${e.duration.toFixed(1)} ms`)
  else if (e.type === 'hit') console.log(`reused    ${e.path}`)
  else if (e.type === 'warning') console.error(`warning: ${e.message}`)
}
const out = join(process.cwd(), 'out', 'weather-report.md')
await mkdir(dirname(out), { recursive: true })
await writeFile(out, report)
console.log(`\n${report}\nreport written to ${out} (${elapsed.toFixed(0)} ms in all)`)
await closeDefault()
