/**
 * Leases: named locks kept in the database, so that every process using a
 * store sees them and a change of the process holding the database loses
 * none. A holder on this machine is alive while its process is; a holder
 * elsewhere while its lease has not expired (it renews it).
 */
import { hostname } from 'node:os'
import { readFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import * as dagCbor from '@ipld/dag-cbor'
import { text } from './keys.js'
import type { LeaseHolder, LeaseKV, LeaseMode, LeaseRequest, LeaseResult } from './interface.js'

export type { LeaseMode, LeaseHolder, LeaseRequest, LeaseResult, LeaseKV } from './interface.js'

const HOST = hostname()

/** The start time of a process from /proc (Linux), or undefined where there is none. */
function processStart (pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const start = Number(fields[19])
    return Number.isSafeInteger(start) ? start : undefined
  } catch {
    return undefined
  }
}

const START = processStart(process.pid)

/** A new holder description for this process. */
export function newHolder (mode: LeaseMode, ttlMs: number): LeaseHolder {
  const holder: LeaseHolder = { id: randomBytes(8).toString('hex'), pid: process.pid, host: HOST, mode, expires: Date.now() + ttlMs }
  if (START !== undefined) holder.start = START
  return holder
}

/** True while the holder's process (this machine) or lease (another machine) lives. */
export function holderAlive (h: LeaseHolder, now = Date.now()): boolean {
  if (h.host === HOST) {
    if (h.pid === process.pid) return h.start === undefined || h.start === START
    try {
      process.kill(h.pid, 0)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false
    }
    // The pid is in use: by the holder, unless a process started since took it over.
    if (h.start === undefined) return true
    const start = processStart(h.pid)
    return start === undefined || start === h.start
  }
  return h.expires > now
}

function decode (bytes: Uint8Array | undefined): LeaseHolder[] {
  if (bytes === undefined) return []
  try {
    const v = dagCbor.decode(bytes) as { holders?: unknown }
    return Array.isArray(v.holders) ? (v.holders as LeaseHolder[]) : []
  } catch {
    return []
  }
}

/**
 * Apply a lease request. The caller serialises requests on one database.
 * Acquiring with an id that already holds the lease is granted again, so a
 * request whose answer was lost can be retried.
 */
export async function applyLease (kv: LeaseKV, req: LeaseRequest): Promise<LeaseResult> {
  const key = text.encode(req.name)
  const now = Date.now()
  const all = decode(await kv.get('leases', key))
  const live = all.filter((h) => holderAlive(h, now))
  const mine = live.find((h) => h.id === req.holder.id)
  const others = live.filter((h) => h.id !== req.holder.id)
  let next = live
  let granted = true
  if (req.op === 'acquire') {
    if (mine === undefined) {
      const blocked = req.holder.mode === 'exclusive' ? others.length > 0 : others.some((h) => h.mode === 'exclusive')
      if (blocked) granted = false
      else next = [...others, req.holder]
    }
  } else if (req.op === 'renew') {
    if (mine === undefined) granted = false
    else next = [...others, { ...mine, expires: req.holder.expires }]
  } else {
    next = others
  }
  const changed = next.length !== all.length || next !== live || req.op === 'renew'
  if (changed) {
    await kv.batch([next.length === 0
      ? { type: 'del', space: 'leases', key }
      : { type: 'put', space: 'leases', key, value: dagCbor.encode({ holders: next }) }], { sync: false })
  }
  return { granted, holders: granted ? [] : others }
}
