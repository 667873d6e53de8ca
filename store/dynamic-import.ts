/**
 * `import()` of what a bundle leaves to Node: packages loaded on demand and
 * the user's own modules. Every such import of lib/ and store/ goes through
 * here, because the `dds` binary runs the CLI as a `vm.Script` with V8's
 * code cache (lib/cli/code-cache.ts), and Node 20 loses a cached script's
 * own `import()` callback: the binary provides one (under the symbol below), a real module's
 * `import()` from the same directory, so that specifiers resolve as they
 * would from the bundle. Specifiers are absolute: a bare package name, a
 * `node:` builtin, or a `file:` URL.
 */
const PROVIDED = Symbol.for('dds-ts.import')

/** What the binary's launcher (lib/cli/launch.ts) sets under the symbol, before the CLI runs. */
type Importer = (specifier: string) => Promise<unknown>

/**
 * `import(specifier)`, through the importer the binary provides when there is one.
 *
 * @example
 * const { Queue } = await dynamicImport('bullmq') as BullModule
 */
export async function dynamicImport (specifier: string): Promise<unknown> {
  const provided = (globalThis as Record<symbol, unknown>)[PROVIDED] as Importer | undefined
  return provided === undefined ? await import(specifier) : await provided(specifier)
}
