/**
 * Which statements of other modules count as writing to a binding: member
 * writes, Object.assign/defineProperty on it or its prototype, and a plain
 * call passing it (a mixin helper), found through barrels and `export *`;
 * not a method call that merely receives it (`app.use(handler)`), not a
 * namespace import, not a module that is not loaded.
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { buildModuleIndex } from '../../../lib/signature/module-index.js'
import type { AstNode } from '../../../lib/signature/parse.js'
import { ProjectResolver } from '../../../lib/signature/resolve.js'
import { Writers } from '../../../lib/signature/writers.js'
import { createProject } from '../../helpers/project.js'

const p = createProject({
  'src/model.ts': 'export class Model {}\nexport function handler (): void {}\n',
  'src/barrel.ts': "export { Model as Renamed } from './model.js'\n",
  'src/star.ts': "export * from './model.js'\n",
  'src/a.ts': "import { Model } from './model.js'\nModel.prototype.a = 1\nObject.assign(Model.prototype, { b: 2 })\n",
  'src/b.ts': "import { Renamed } from './barrel.js'\nimport { Model } from './star.js'\napplyMixins(Renamed, [])\nObject.defineProperty(Model, 'c', { value: 3 })\n",
  'src/c.ts': "import { handler, Model } from './model.js'\nimport * as ns from './model.js'\napp.use(handler)\nns.Model.d = 4\nconst m = new Model()\n",
  'src/unloaded.ts': "import { Model } from './model.js'\nModel.e = 5\n"
})
t.teardown(() => { p.remove() })

t.test('writers of a binding from other loaded modules', async (t) => {
  const loaded = ['src/model.ts', 'src/barrel.ts', 'src/star.ts', 'src/a.ts', 'src/b.ts', 'src/c.ts'].map((f) => p.path(f))
  const host = {
    load: (file: string) => ({ kind: 'code' as const, index: buildModuleIndex(file, readFileSync(file, 'utf8')) }),
    resolver: new ProjectResolver(),
    root: undefined,
    loaded: () => loaded
  }
  const writers = new Writers(host)
  const text = (w: { index: { text: string }, nodes: AstNode[] }): string[] => w.nodes.map((n) => w.index.text.slice(n.start, n.end).trim())
  const model = writers.of(p.path('src/model.ts'), 'Model')
  t.same(model.map((w) => w.index.file.slice(p.root.length + 1)), ['src/a.ts', 'src/b.ts', 'src/b.ts'], 'one writer per import binding; not c.ts (a namespace write), not an unloaded module')
  t.same(text(model[0]!), ['Model.prototype.a = 1', 'Object.assign(Model.prototype, { b: 2 })'], 'member writes and Object.assign on the prototype')
  t.same(model.flatMap(text).filter((s) => s.startsWith('applyMixins') || s.startsWith('Object.defineProperty')), ['applyMixins(Renamed, [])', "Object.defineProperty(Model, 'c', { value: 3 })"], 'through a renaming barrel and export *')
  t.same(writers.of(p.path('src/model.ts'), 'handler'), [], 'a method call receiving a function does not write to it')
})
