/**
 * The node:fs functions as they were before dds-ts wrapped them. Taken when
 * this module is first evaluated (before any wrapping, which happens on the
 * first keep), so that digests, checks and the wrappers themselves read files
 * without being recorded and without calling themselves.
 */
import fs from 'node:fs'

/** The original node:fs functions (the callback, sync and promise forms dds-ts wraps, and what it reads with). */
export const raw = Object.freeze({
  readFileSync: fs.readFileSync,
  readFile: fs.readFile,
  createReadStream: fs.createReadStream,
  openSync: fs.openSync,
  open: fs.open,
  readSync: fs.readSync,
  fstatSync: fs.fstatSync,
  closeSync: fs.closeSync,
  readdirSync: fs.readdirSync,
  readdir: fs.readdir,
  statSync: fs.statSync,
  stat: fs.stat,
  lstatSync: fs.lstatSync,
  lstat: fs.lstat,
  existsSync: fs.existsSync,
  promises: Object.freeze({
    readFile: fs.promises.readFile,
    open: fs.promises.open,
    readdir: fs.promises.readdir,
    stat: fs.promises.stat,
    lstat: fs.promises.lstat
  })
})
