/**
 * Writers from outside: top-level statements of the project's loaded modules
 * that write to a binding imported from another module (`X.prototype.m =
 * ...`, `X.m = ...`, `Object.assign(X.prototype, ...)`, `applyMixins(X,
 * [...])`). Whatever can write to a binding is part of what a reader of it
 * reaches, so the analysis asks here for the writers of each top-level
 * binding it reaches. Only modules loaded in this process count: a module
 * never loaded writes nothing.
 */
import type { Binding } from './bindings.js'
import type { GraphHost } from './interface.js'
import type { ModuleIndex } from './module-index.js'
import type { AstNode } from './parse.js'

/** The statements of one module that write to one binding of another. */
export interface Writer {
  index: ModuleIndex
  /** The import binding written through. */
  binding: Binding
  nodes: AstNode[]
}

/**
 * The writers of the bindings of each file, by the file and the binding's
 * local name there.
 *
 * @example
 * const writers = new Writers(host)
 * writers.of('/p/src/model.ts', 'Model') // [{ index: <augment.ts>, binding, nodes: [...] }]
 */
export class Writers {
  private byTarget: Map<string, Writer[]> | undefined

  constructor (private readonly host: GraphHost) {}

  of (file: string, name: string): Writer[] {
    this.byTarget ??= this.build()
    return this.byTarget.get(`${file}\0${name}`) ?? []
  }

  private build (): Map<string, Writer[]> {
    const out = new Map<string, Writer[]>()
    for (const file of this.host.loaded?.() ?? []) {
      const loaded = this.host.load(file)
      if (loaded.kind !== 'code' || loaded.index.errors.length > 0) continue
      const index = loaded.index
      for (const [binding, nodes] of index.foreignWrites) {
        const ref = index.imports.get(binding)
        if (ref === undefined || ref.imported === '*') continue
        const origin = this.origin(index.file, ref.spec, ref.kind, ref.imported, 0)
        if (origin === undefined) continue
        const key = `${origin.file}\0${origin.name}`
        const list = out.get(key)
        const w = { index, binding, nodes }
        if (list === undefined) out.set(key, [w])
        else list.push(w)
      }
    }
    return out
  }

  /** The file and local name an imported name denotes, through re-exports and `export *`. */
  private origin (from: string, spec: string, kind: 'import' | 'require', name: string, depth: number): { file: string, name: string } | undefined {
    if (depth > 16) return undefined
    const r = this.host.resolver.resolve(from, spec, kind)
    if (r.kind !== 'file') return undefined
    const loaded = this.host.load(r.path)
    if (loaded.kind !== 'code') return undefined
    const index = loaded.index
    const t = index.exports.get(name)
    if (t?.kind === 'local') {
      const b = index.scopes.program.vars.get(t.name)
      const imp = b === undefined ? undefined : index.imports.get(b)
      if (imp !== undefined && imp.imported !== '*') return this.origin(index.file, imp.spec, imp.kind, imp.imported, depth + 1)
      return { file: index.file, name: t.name }
    }
    if (t?.kind === 'reexport') return t.imported === '*' ? undefined : this.origin(index.file, t.spec, 'import', t.imported, depth + 1)
    if (t !== undefined || name === 'default') return undefined
    for (const star of index.stars) {
      const found = this.origin(index.file, star, 'import', name, depth + 1)
      if (found !== undefined) return found
    }
    return undefined
  }
}
