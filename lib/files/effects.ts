/**
 * Effects of a kept function that no later check can see: network I/O
 * (fetch, http, https, net: every TCP connection goes through
 * net.Socket#connect), child processes and worker threads. Wrapped once, on
 * the first keep; each only marks the running function's recorder, so the
 * engine can warn once per evaluation.
 */
import { syncBuiltinESMExports } from 'node:module'
import { activeRecorder, type Effect } from './recorder.js'

type Fn = (...args: any[]) => any

function mark (effect: Effect): void {
  activeRecorder()?.effects.add(effect)
}

function marking (effect: Effect, original: Fn): Fn {
  return function (this: unknown, ...args: unknown[]) {
    mark(effect)
    return original.apply(this, args)
  }
}

let installed = false

/** Wrap the network, child process and worker entry points (once per process). */
export function installEffectHooks (): void {
  if (installed) return
  installed = true
  // Taken here rather than imported: a fresh process that only imports dds-ts
  // does not pay for loading these three modules (the same objects either way).
  const net = process.getBuiltinModule('node:net')
  const childProcess = process.getBuiltinModule('node:child_process')
  const workerThreads = process.getBuiltinModule('node:worker_threads')
  const socket = net.Socket.prototype as unknown as Record<string, Fn>
  socket.connect = marking('network', socket.connect as Fn)
  // fetch of a file or data URL does not connect; fetch itself says the function meant the network.
  if (typeof globalThis.fetch === 'function') globalThis.fetch = marking('network', globalThis.fetch) as typeof fetch

  // ChildProcess#spawn is under spawn, exec, execFile and fork; the sync forms have no object.
  const proto = childProcess.ChildProcess.prototype as unknown as Record<string, Fn>
  proto.spawn = marking('process', proto.spawn as Fn)
  const cp = childProcess as unknown as Record<string, Fn>
  for (const name of ['spawnSync', 'execSync', 'execFileSync']) cp[name] = marking('process', cp[name] as Fn)

  const Original = workerThreads.Worker
  class Worker extends Original {
    constructor (...args: ConstructorParameters<typeof Original>) {
      mark('worker')
      super(...args)
    }
  }
  ;(workerThreads as { Worker: typeof Original }).Worker = Worker
  syncBuiltinESMExports()
}
