/**
 * Issue 11 §1, the edit matrix for code the analysis must follow although it
 * is not in the reader's own declarations: a workspace package symlinked into
 * node_modules, a decorator on the line before `export class`, static fields
 * and static blocks computed at run time, members added to a class from
 * another module, mixins, and modules loaded into a local (`const m = await
 * import(...)`). A project on disk, every run a fresh process, under tsx and
 * as compiled tsc output with source maps (which hits what tsx computed):
 * after each edit exactly the functions that reach it run again, and no kept
 * value is stale.
 */
import t from 'tap'
import { mkdirSync, symlinkSync } from 'node:fs'
import { join } from 'node:path'
import { COUNTER_PACKAGE, editSteps, matrixMain } from '../helpers/edit-matrix.js'
import { createProject } from '../helpers/project.js'

const files: Record<string, string> = {
  ...COUNTER_PACKAGE,
  // A workspace package: its real path is outside node_modules, so it is project code.
  'packages/shared/package.json': JSON.stringify({ name: '@mono/shared', version: '1.0.0', type: 'module', main: 'index.js' }),
  'packages/shared/index.js': `export function sharedHelper (x) {
  return x * 10
}
`,
  'src/decorate.ts': `export function tag (cls: any, _ctx?: any): void {
  cls.prototype.bonus = function (): number { return 5 }
}
`,
  'src/tagged.ts': `import { tag } from './decorate.js'

@tag
export class Tagged {
  value (): number { return 1 }
}
`,
  'src/rates.ts': `export class Rates {
  static rate = Number(process.env.RATE ?? '1')
  static offset: number
  static {
    Rates.offset = Number(process.env.OFFSET ?? '0')
  }
}
`,
  'src/widget.ts': `export class Widget {
  base (): number { return 1 }
}

export class Gadget {
  static size (): number { return 2 }
}
`,
  // Members added from outside, with a \`declare module\` augmentation for the prototype.
  'src/augment.ts': `import { Widget, Gadget } from './widget.js'

declare module './widget.js' {
  interface Widget { boost (x: number): number }
}

Widget.prototype.boost = function (x: number): number { return x + 100 }
;(Gadget as any).extra = (): number => 7
`,
  'src/mixins.ts': `export function applyMixins (derived: any, bases: any[]): void {
  for (const base of bases) {
    for (const name of Object.getOwnPropertyNames(base.prototype)) {
      if (name !== 'constructor') Object.defineProperty(derived.prototype, name, Object.getOwnPropertyDescriptor(base.prototype, name)!)
    }
  }
}

export class Greets {
  greet (): string { return 'hi' }
}
`,
  'src/derived.ts': `import { applyMixins, Greets } from './mixins.js'

export class Derived {
  name (): string { return 'd' }
}

applyMixins(Derived, [Greets])
`,
  'src/plugin.ts': `export function run (x: number): number {
  return x + 1
}

export function unused (): number {
  return 0
}
`,
  'src/pipeline.ts': `import { ran } from 'counter'
import { sharedHelper } from '@mono/shared'
import { Tagged } from './tagged.js'
import { Rates } from './rates.js'
import { Widget, Gadget } from './widget.js'
import { Derived } from './derived.js'
import * as ns from './plugin.js'

export function usesShared (x: number): number {
  ran('usesShared')
  return sharedHelper(x)
}

export function usesDecorated (): number {
  ran('usesDecorated')
  return (new Tagged() as any).bonus() + new Tagged().value()
}

export function usesStatic (x: number): number {
  ran('usesStatic')
  return x * Rates.rate + Rates.offset
}

export function usesAugmented (x: number): number {
  ran('usesAugmented')
  return new Widget().boost(x) + new Widget().base()
}

export function usesAddedStatic (): number {
  ran('usesAddedStatic')
  return (Gadget as any).extra() + Gadget.size()
}

export function usesMixin (): string {
  ran('usesMixin')
  return (new Derived() as any).greet() + new Derived().name()
}

export async function usesPlugin (x: number): Promise<number> {
  ran('usesPlugin')
  const m = await import('./plugin.js')
  return m.run(x)
}

export function usesNs (x: number): number {
  ran('usesNs')
  return ns.run(x) * 2
}
`,
  'src/main.ts': matrixMain("import './augment.js'\nimport * as p from './pipeline.js'", `  ['/shared', p.usesShared, [2]],
  ['/decorated', p.usesDecorated, []],
  ['/static', p.usesStatic, [3]],
  ['/augmented', p.usesAugmented, [1]],
  ['/added-static', p.usesAddedStatic, []],
  ['/mixin', p.usesMixin, []],
  ['/plugin', p.usesPlugin, [1]],
  ['/ns', p.usesNs, [1]]`)
}

const ALL = ['usesAddedStatic', 'usesAugmented', 'usesDecorated', 'usesMixin', 'usesNs', 'usesPlugin', 'usesShared', 'usesStatic']

t.test('edits outside the reader\'s declarations, under tsx and tsc', async (t) => {
  const project = createProject(files, { packageJson: { workspaces: ['packages/*'] } })
  t.teardown(() => { project.remove() })
  mkdirSync(join(project.root, 'node_modules', '@mono'))
  symlinkSync(join(project.root, 'packages', 'shared'), join(project.root, 'node_modules', '@mono', 'shared'), 'dir')
  // Before each tsx run, dds plan's answers are compared with what the run then did.
  const step = editSteps(t, project, { cross: true })

  await step('first run', ALL)
  await step('no change', [])
  project.edit('packages/shared/index.js', 'x * 10', 'x * 11')
  await step('a workspace package linked into node_modules', ['usesShared'])
  project.edit('src/decorate.ts', 'return 5', 'return 6')
  await step('a decorator on the line before export class', ['usesDecorated'])
  await step('a static field computed at run time', ['usesStatic'], { RATE: '2' })
  await step('the static field back: the first result is reused', [], { RATE: '1' })
  await step('what a static block computes', ['usesStatic'], { OFFSET: '1' })
  project.edit('src/augment.ts', 'x + 100', 'x + 200')
  await step('a prototype member added from another module', ['usesAugmented'])
  project.edit('src/augment.ts', '(): number => 7', '(): number => 8')
  await step('a static member added from another module', ['usesAddedStatic'])
  project.edit('src/mixins.ts', "return 'hi'", "return 'hello'")
  await step('a mixed-in class', ['usesMixin'])
  project.edit('src/mixins.ts', "if (name !== 'constructor')", "if (name !== 'constructor' && name !== 'nothing')")
  await step('the mixin helper', ['usesMixin'])
  project.edit('src/plugin.ts', 'return 0', 'return 1')
  await step('an export no reader uses, of a namespace and of a dynamic import', [])
  project.edit('src/plugin.ts', 'x + 1', 'x + 2')
  await step('the export they use', ['usesNs', 'usesPlugin'])
})
