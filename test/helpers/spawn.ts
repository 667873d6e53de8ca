/**
 * Run Node scripts in child processes without the test runner's coverage
 * hooks (they slow children down and do not belong to what is measured).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'

export interface Exit { code: number | null, signal: NodeJS.Signals | null, stdout: string, stderr: string }

function cleanEnv (extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra }
  delete env.NODE_OPTIONS
  delete env.NODE_V8_COVERAGE
  for (const k of Object.keys(env)) if (k.startsWith('_TAPJS_PROCESSINFO')) delete env[k]
  return env
}

/** Start `node script ...args`; the result resolves when it exits. */
export function startNode (script: string, args: string[], options: { env?: Record<string, string>, cwd?: string } = {}): { child: ChildProcess, done: Promise<Exit> } {
  const argv = [script, ...args]
  const useEnv = existsSync('/usr/bin/env')
  const child = useEnv
    ? spawn('/usr/bin/env', ['-u', 'NODE_OPTIONS', '-u', 'NODE_V8_COVERAGE', process.execPath, ...argv], { env: cleanEnv(options.env), cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(process.execPath, argv, { env: cleanEnv(options.env), cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout?.setEncoding('utf8').on('data', (d: string) => { stdout += d })
  child.stderr?.setEncoding('utf8').on('data', (d: string) => { stderr += d })
  const done = new Promise<Exit>((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code, signal) => { resolve({ code, signal, stdout, stderr }) })
  })
  return { child, done }
}
