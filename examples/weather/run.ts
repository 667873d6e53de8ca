/**
 * Run the weather pipeline on the bundled CSV against the default store
 * (`$DDS_STORE`, else the nearest `.dds`) and say what ran, through the
 * library's ready reporter (`log: true`, on stderr).
 */
import { writeFile, mkdir } from 'node:fs/promises'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { configure, evaluate, closeDefault } from 'dds-ts'
import { pipeline } from './pipeline.js'

const here = dirname(fileURLToPath(import.meta.url))
configure({ log: true })

const t0 = performance.now()
// Relative to the working directory: the argument (part of the memo key) does not depend on where the checkout is.
const csv = relative(process.cwd(), join(here, 'data', 'weather.csv'))
const report = await evaluate(pipeline, csv)
const elapsed = performance.now() - t0

const out = join(process.cwd(), 'out', 'weather-report.md')
await mkdir(dirname(out), { recursive: true })
await writeFile(out, report)
console.log(`\n${report}\nreport written to ${out} (${elapsed.toFixed(0)} ms in all)`)
await closeDefault()
