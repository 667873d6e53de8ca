/**
 * Run the weather pipeline on the bundled CSV against the default store
 * (`$DDS_STORE`, else the nearest `.dds`) and say what ran, through the
 * library's ready reporter (`log: true`, on stderr).
 */
import { readFile, writeFile, mkdir } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { configure, evaluate, closeDefault } from 'dds-ts'
import { pipeline } from './pipeline.js'

const here = dirname(fileURLToPath(import.meta.url))
configure({ log: true })

const t0 = performance.now()
const csv = await readFile(join(here, 'data', 'weather.csv'), 'utf8')
const report = await evaluate(pipeline, csv)
const elapsed = performance.now() - t0

const out = join(process.cwd(), 'out', 'weather-report.md')
await mkdir(dirname(out), { recursive: true })
await writeFile(out, report)
console.log(`\n${report}\nreport written to ${out} (${elapsed.toFixed(0)} ms in all)`)
await closeDefault()
