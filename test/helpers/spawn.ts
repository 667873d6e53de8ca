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

/** True when children can be started as another user (`user` of startNode): root with setpriv. */
export const CAN_SWITCH_USER = process.getuid?.() === 0 && existsSync('/usr/bin/setpriv')

/**
 * Start `node script ...args`; the result resolves when it exits. With
 * `user`, the child runs as that uid and gid and no other group (needs CAN_SWITCH_USER);
 * `nodeFlags` go to node before the script (`--expose-gc`, `--import`).
 */
export function startNode (script: string, args: string[], options: { env?: Record<string, string>, cwd?: string, user?: { uid: number, gid: number }, nodeFlags?: string[] } = {}): { child: ChildProcess, done: Promise<Exit> } {
  const u = options.user
  const node = [process.execPath, ...(options.nodeFlags ?? []), script, ...args]
  const command = u === undefined ? node : ['/usr/bin/setpriv', '--reuid', String(u.uid), '--regid', String(u.gid), '--clear-groups', ...node]
  const useEnv = existsSync('/usr/bin/env')
  const [file, ...rest] = useEnv ? ['/usr/bin/env', '-u', 'NODE_OPTIONS', '-u', 'NODE_V8_COVERAGE', ...command] : command
  const child = spawn(file as string, rest, { env: cleanEnv(options.env), cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] })
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
