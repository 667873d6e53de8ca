/**
 * The pictures of the web view in docs/: the weather example run into a
 * fresh store (twice, the second time with a module constant edited, so that
 * histories have two entries and something changed), `serve` on it, and
 * each page captured by headless chromium; then the lineage page once more
 * after a further edit of the model (not run), marked with what the next run
 * will do.
 *
 *   npm run build && npx tsx scripts/screenshots.ts
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync, symlinkSync, mkdirSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { launch } from 'puppeteer-core'
import { openStore } from '../store/store.js'
import { serve } from '../lib/serve/server.js'

const root = resolve(import.meta.dirname, '..')
const work = mkdtempSync(join(tmpdir(), 'dds-shots-'))
try {
  cpSync(join(root, 'examples', 'weather'), join(work, 'weather'), { recursive: true })
  mkdirSync(join(work, 'node_modules'))
  symlinkSync(root, join(work, 'node_modules', 'dds-ts'), 'dir')
  // The example keeps its Arrow table only where apache-arrow is installed.
  symlinkSync(join(root, 'node_modules', 'apache-arrow'), join(work, 'node_modules', 'apache-arrow'), 'dir')
  writeFileSync(join(work, 'package.json'), '{ "type": "module" }\n')
  const store = join(work, '.dds')
  const run = (): void => { execFileSync(process.execPath, ['--import', pathToFileURL(join(root, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href, 'weather/run.ts'], { cwd: work, env: { ...process.env, DDS_STORE: store }, stdio: 'ignore' }) }
  run()
  const model = join(work, 'weather', 'src', 'model.ts')
  const before = readFileSync(model, 'utf8')
  // A second run with the model edited: its history gets a second entry, and the page says what changed.
  writeFileSync(model, before.replace(/^(export function \w+[^{]*\{)/m, '$1\n  void 0'))
  run()
  const opened = await openStore({ location: store })
  const s = await serve(opened, { root: work })
  const browser = await launch({ executablePath: process.env.DDS_CHROMIUM ?? '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu'] })
  const page = await browser.newPage()
  await page.setViewport({ width: 1280, height: 800 })
  const shots: Array<[string, string, string]> = [
    ['serve-paths.png', '#/', 'paths'],
    ['serve-history.png', '#/history?path=/weather/model', 'history'],
    ['serve-evaluation.png', '#/evaluation?target=/weather/stats', 'evaluation'],
    ['serve-metrics.png', '#/metrics?path=/weather/model', 'metrics'],
    ['serve-lineage.png', '#/lineage', 'lineage'],
    ['serve-table.png', '#/evaluation?target=/weather/daily', 'evaluation'],
    ['serve-source.png', '#/evaluation?target=/weather/model', 'evaluation']
  ]
  for (const [file, hash, name] of shots) {
    await page.goto(s.url + hash, { waitUntil: 'load' })
    await page.waitForSelector(`main[data-page="${name}"]`)
    if (name === 'lineage') await page.waitForSelector('#plan[data-state="ready"]')
    // The table and source pictures show the part of the evaluation page they are about.
    if (file === 'serve-table.png') await page.waitForSelector('table.arrow tbody tr')
    if (file === 'serve-table.png' || file === 'serve-source.png') {
      await page.evaluate((sel) => { document.querySelector(sel)?.scrollIntoView() }, file === 'serve-table.png' ? '.arrow-table' : 'figure.source')
    }
    await page.screenshot({ path: join(root, 'docs', file) as `${string}.png` })
  }
  // What the next run will do, on the lineage page: the model edited once more, not run.
  writeFileSync(model, readFileSync(model, 'utf8').replace('\n  void 0', '\n  void 1'))
  await page.goto(s.url + '#/lineage', { waitUntil: 'load' })
  await page.waitForSelector('#plan[data-state="ready"]')
  await page.screenshot({ path: join(root, 'docs', 'serve-lineage-plan.png'), fullPage: true })
  await browser.close()
  await s.close()
  await opened.close()
} finally {
  rmSync(work, { recursive: true, force: true })
}
