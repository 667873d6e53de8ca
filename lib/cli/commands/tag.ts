/** `dds tag NAME PATH[@SEQ]`, `dds tag --list [PATH]`, `dds tag -d NAME`: names for history entries. */
import { DdsError, ErrorCodes, deleteTag, listTags, putTag, validateTag, type Tag } from '../../../store/index.js'
import { entryOf } from '../../inspect.js'
import { UsageError, type Command, type Context } from '../context.js'

function tagJson (t: Tag): Record<string, unknown> {
  return { name: t.name, path: t.path, seq: t.seq, evaluation: t.evaluation.toString(), output: t.output.toString(), time: new Date(t.time).toISOString() }
}

async function tagLine (ctx: Context, t: Tag): Promise<void> {
  await ctx.line([t.name, t.path, t.seq, t.evaluation.toString(), new Date(t.time).toISOString()])
}

export const command: Command = {
  usage: 'dds tag NAME PATH[@SEQ] | dds tag --list [PATH] | dds tag -d NAME',
  description: `
Name a history entry: the current value of PATH, or its entry SEQ (see
dds log). The tag then names that value for dds show PATH@NAME, dds cat,
load('/p@NAME') and load('/p', { tag: 'NAME' }); gc never drops a tagged
value, and bundles and pushes carry the tags of the paths they carry.
Setting a tag that exists moves it. A name starts with a letter or _, then
letters, digits, ., _ or -. Prints the tag: name, path, sequence number,
evaluation, time it was set. --list prints every tag (on PATH only, when
given); -d deletes one (DDS_TAG_NOT_FOUND when there is none).`,
  options: { list: { type: 'boolean', short: 'l' }, delete: { type: 'boolean', short: 'd' } },
  optionHelp: [['-l, --list', 'list the tags (on PATH, when given)'], ['-d, --delete', 'delete the tag NAME']],
  example: `
$ dds tag v1 /weather/model
v1	/weather/model	2	bafyreih4…	2026-12-03T14:40:02.113Z
$ dds show /weather/model@v1`,
  positionals: [0, 2],
  async run (ctx) {
    const store = await ctx.store()
    if (ctx.flag('list')) {
      if (ctx.args.length > 1) throw new UsageError('--list takes at most one PATH')
      const path = ctx.args[0]
      const tags: Tag[] = []
      for await (const t of listTags(store.backend, path === undefined ? {} : { path })) {
        if (ctx.json) tags.push(t)
        else await tagLine(ctx, t)
      }
      if (ctx.json) await ctx.writeJson(tags.map(tagJson))
      return
    }
    if (ctx.flag('delete')) {
      if (ctx.args.length !== 1) throw new UsageError('-d takes one NAME')
      const name = validateTag(ctx.args[0])
      if (!await deleteTag(store.backend, name)) throw new DdsError(ErrorCodes.TAG_NOT_FOUND, `no tag ${name}`, { data: { tag: name } })
      if (ctx.json) await ctx.writeJson({ deleted: name })
      else await ctx.line([name, 'deleted'])
      return
    }
    if (ctx.args.length !== 2) throw new UsageError('give NAME and PATH[@SEQ] (or --list, or -d NAME)')
    const name = validateTag(ctx.args[0])
    const target = ctx.target(ctx.args[1] as string)
    if (target.kind !== 'path') throw new UsageError('a tag names a path\'s history entry: PATH or PATH@SEQ, not a CID')
    const entry = await entryOf(store, target, ctx.source)
    const tag: Tag = { name, path: entry.path, seq: entry.seq, evaluation: entry.evaluation as NonNullable<typeof entry.evaluation>, output: entry.output as NonNullable<typeof entry.output>, time: Date.now() }
    await putTag(store.backend, tag)
    if (ctx.json) await ctx.writeJson(tagJson(tag))
    else await tagLine(ctx, tag)
  }
}
