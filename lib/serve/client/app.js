// The web view's page: routes on the address's #fragment, reads the JSON API
// and builds the DOM with text nodes only (every stored string is
// attacker-controlled, so none is ever parsed as HTML). The lineage SVG comes
// from Graphviz, which escapes its labels; it is parsed as XML and stripped
// of scripts and event handlers before it is shown, under a policy that runs
// no inline script anyway.

const token = new URLSearchParams(location.search).get('token')
const main = document.getElementById('main')
const POLL_MS = 2000

/** An element with attributes and children (strings become text nodes). */
function h (tag, attrs = {}, ...children) {
  const el = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v)
    else el.setAttribute(k, v === true ? '' : String(v))
  }
  for (const c of children.flat()) if (c !== undefined && c !== null && c !== false) el.append(c instanceof Node ? c : String(c))
  return el
}

/** A link to another page of the view. */
function link (route, params, ...children) {
  return h('a', { href: '#/' + route + (params === undefined ? '' : '?' + new URLSearchParams(params)) }, ...children)
}

function withToken (path, params) {
  const q = new URLSearchParams(params)
  if (token !== null) q.set('token', token)
  return path + '?' + q
}

async function api (name, params) {
  const res = await fetch(withToken('/api/' + name, params))
  const body = await res.json()
  if (!res.ok) throw new Error(`${body.error?.code ?? res.status}: ${body.error?.message ?? ''}`)
  return body
}

function size (n) {
  if (n === null || n === undefined) return '-'
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let v = n
  let u = 0
  while (v >= 1024 && u < units.length - 1) { v /= 1024; u++ }
  return `${v < 10 && u > 0 ? v.toFixed(1) : Math.round(v)} ${units[u]}`
}

function when (iso) {
  return iso === null ? '-' : new Date(iso).toLocaleString()
}

function took (ms) {
  return ms === null || ms === undefined ? '-' : ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`
}

function fnText (fn) {
  if (fn === null) return '-'
  return fn.name === '' ? '(anonymous)' : fn.name
}

function source (fn) {
  if (fn === null || fn.file === null) return ''
  return `${fn.file}${fn.line === null ? '' : ':' + fn.line}${fn.column === null ? '' : ':' + fn.column}`
}

function short (cid) {
  return cid === null ? '-' : cid.length <= 16 ? cid : `${cid.slice(0, 4)}…${cid.slice(-8)}`
}

function table (headers, rows, attrs = {}) {
  return h('table', attrs, h('thead', {}, h('tr', {}, headers.map((x) => h('th', {}, x)))), h('tbody', {}, rows))
}

function problems (list) {
  if (list === undefined || list.length === 0) return null
  return h('ul', { class: 'problems' }, list.map((p) => h('li', {}, `${p.where}: ${p.code}: ${p.message}`)))
}

/** What each route shows; each returns a function that renders fresh data (polled for the live pages). */
const pages = {
  async paths (q) {
    const prefix = q.get('prefix') ?? ''
    const params = { prefix, limit: '100', ...(q.get('cursor') === null ? {} : { cursor: q.get('cursor') }) }
    const data = await api('paths', params)
    const filter = h('input', { type: 'search', name: 'prefix', placeholder: 'prefix, e.g. /data', value: prefix })
    const form = h('form', { class: 'filter', onsubmit: (e) => { e.preventDefault(); location.hash = '#/paths?' + new URLSearchParams({ prefix: filter.value }) } }, filter, h('button', { type: 'submit' }, 'Filter'))
    const rows = []
    const shown = new Set()
    for (const r of data.items) {
      // The namespace as a tree: each folder once, above the first path under it.
      const parts = r.path.split('/').slice(1)
      for (let i = 1; i < parts.length; i++) {
        const dir = '/' + parts.slice(0, i).join('/')
        if (shown.has(dir)) continue
        shown.add(dir)
        rows.push(h('tr', { class: 'dir' }, h('td', { style: `padding-left:${(i - 1) * 1.2 + 0.4}em` }, link('paths', { prefix: dir }, parts[i - 1] + '/')), h('td', { colspan: 6 })))
      }
      const depth = parts.length - 1
      rows.push(h('tr', { class: 'path', 'data-path': r.path },
        h('td', { style: `padding-left:${depth * 1.2 + 0.4}em` }, link('history', { path: r.path }, parts[parts.length - 1] ?? r.path)),
        h('td', {}, when(r.time)),
        h('td', {}, r.deleted ? 'deleted' : r.hit ? 'hit' : 'computed'),
        h('td', { class: 'num' }, size(r.size)),
        h('td', {}, r.evaluation === null ? '-' : link('evaluation', { target: r.path }, short(r.evaluation))),
        h('td', { class: 'tags' }, r.tags.map((t) => link('evaluation', { target: `${r.path}@${t.name}` }, h('span', { class: 'tag', title: `entry ${t.seq}` }, t.name)))),
        h('td', {}, link('metrics', { path: r.path }, 'metrics'), ' ', link('lineage', { path: r.path }, 'lineage'))))
    }
    const nav = h('p', { class: 'pager' },
      q.get('cursor') === null ? null : link('paths', { prefix }, 'First page'), ' ',
      data.next === null ? null : link('paths', { prefix, cursor: data.next }, 'Next page'))
    return { data, view: [h('h1', {}, prefix === '' ? 'Paths' : `Paths under ${prefix}`), form, table(['Path', 'Last update', 'Status', 'Size', 'Evaluation', 'Tags', ''], rows, { id: 'paths' }), problems(data.problems), nav], live: q.get('cursor') === null ? params : null, name: 'paths' }
  },

  async history (q) {
    const path = q.get('path')
    const params = { path, limit: '50', ...(q.get('cursor') === null ? {} : { cursor: q.get('cursor') }) }
    const data = await api('history', params)
    const why = h('div', { id: 'why' })
    const picked = []
    const compare = h('button', { type: 'button', disabled: true, onclick: () => showWhy(path, picked, why) }, 'Compare the two selected')
    const rows = data.items.map((r) => {
      const box = h('input', { type: 'checkbox', 'aria-label': `select entry ${r.seq}`, onchange: (e) => {
        if (e.target.checked) picked.push(r.seq)
        else picked.splice(picked.indexOf(r.seq), 1)
        compare.disabled = picked.length !== 2
      } })
      if (r.evaluation === null) box.disabled = true
      return h('tr', { 'data-seq': r.seq },
        h('td', {}, box),
        h('td', { class: 'num' }, r.evaluation === null ? String(r.seq) : link('evaluation', { target: `${path}@${r.seq}` }, String(r.seq))),
        h('td', { class: 'tags' }, r.tags.map((name) => h('span', { class: 'tag' }, name))),
        h('td', {}, when(r.time)),
        h('td', {}, r.status + (r.imported ? ' (imported)' : '')),
        h('td', { class: 'num' }, took(r.duration)),
        h('td', { class: 'args' }, r.args.join(', ')),
        h('td', { class: 'changes' }, r.changes === null ? '-' : r.changes.length === 0 ? 'same evaluation' : h('ul', {}, r.changes.map((c) => h('li', {}, c)))),
        h('td', { class: 'output' }, r.summary === null ? '-' : r.summary.display ?? `${r.summary.enc}${r.summary.type === null ? '' : ' ' + r.summary.type}, ${size(r.summary.size)}`))
    })
    const nav = h('p', { class: 'pager' },
      q.get('cursor') === null ? null : link('history', { path }, 'Newest'), ' ',
      data.next === null ? null : link('history', { path, cursor: data.next }, 'Older'))
    return {
      data,
      view: [h('h1', {}, `History of ${path}`), h('p', {}, link('metrics', { path }, 'Metrics'), ' · ', link('lineage', { path }, 'Lineage'), ' · ', link('evaluation', { target: path }, 'Current evaluation')),
        table(['', 'Seq', 'Tags', 'Time', 'Status', 'Took', 'Arguments', 'Changed against the entry before', 'Output'], rows, { id: 'history' }), problems(data.problems), nav, compare, why],
      live: q.get('cursor') === null ? params : null,
      name: 'history'
    }
  },

  async evaluation (q) {
    const target = q.get('target')
    const [e, src] = await Promise.all([api('evaluation', { target }), api('source', { target })])
    const kv = (obj) => table(['Name', 'Hash'], Object.entries(obj).map(([k, v]) => h('tr', {}, h('td', {}, k), h('td', { class: 'hash' }, v))))
    const section = (title, ...body) => h('section', {}, h('h2', {}, title), ...body)
    return {
      data: e,
      view: [
        h('h1', {}, `${fnText(e.function)}`, e.path === null ? '' : ` → `, e.path === null ? '' : link('history', { path: e.path }, e.path)),
        h('dl', {},
          h('dt', {}, 'Source'), h('dd', {}, source(e.function) || '-'),
          h('dt', {}, 'Evaluation'), h('dd', { class: 'hash' }, e.evaluation),
          h('dt', {}, 'Started'), h('dd', {}, when(e.started)),
          h('dt', {}, 'Took'), h('dd', {}, took(e.duration)),
          h('dt', {}, 'Signature'), h('dd', { class: 'hash' }, e.signature)),
        section('Output', outputView(target, e)),
        section('Source', sourceView(src)),
        section('Inputs', e.inputs.length === 0 ? h('p', {}, 'none') : table(['#', 'Value', 'CID'], e.inputs.map((x) => h('tr', {}, h('td', {}, String(x.index)), h('td', {}, x.display ?? '-'), h('td', { class: 'hash' }, x.cid))))),
        section('Loaded paths', e.loads.length === 0 ? h('p', {}, 'none') : table(['Path', 'Evaluation', 'Output'], e.loads.map((l) => h('tr', {}, h('td', {}, link('history', { path: l.path }, l.path)), h('td', {}, l.evaluation === null ? '-' : link('evaluation', { target: l.evaluation }, short(l.evaluation))), h('td', { class: 'hash' }, short(l.output)))))),
        section('Files read', e.files.length === 0 ? h('p', {}, 'none') : table(['Path', 'Kind', 'Digest', 'Size', 'Modified'], e.files.map((f) => h('tr', {}, h('td', {}, f.path), h('td', {}, f.kind), h('td', { class: 'hash' }, short(f.digest)), h('td', { class: 'num' }, size(f.size)), h('td', {}, when(f.mtime)))))),
        section('Calls', e.calls.length === 0 ? h('p', {}, 'none') : table(['Evaluation', 'Path', 'Function'], e.calls.map((c) => h('tr', {}, h('td', {}, link('evaluation', { target: c.evaluation }, short(c.evaluation))), h('td', {}, c.path ?? '-'), h('td', {}, fnText(c.function)))))),
        section('Code', h('p', {}, `manifest ${e.code.cid}, ${e.code.algorithm}, entry ${e.code.entry}${e.code.pinned === null ? '' : ', pinned ' + e.code.pinned}`),
          h('h3', {}, 'Declarations'), kv(e.code.declarations), h('h3', {}, 'Values'), kv(e.code.values), h('h3', {}, 'Packages'), kv(e.code.packages),
          e.code.unavailable.length === 0 ? null : h('p', {}, 'Unavailable: ' + e.code.unavailable.join(', ')))
      ],
      live: null,
      name: 'evaluation'
    }
  },

  async metrics (q) {
    const path = q.get('path')
    const m = await api('metrics', { path })
    const charts = h('div', { id: 'charts' })
    const names = Object.keys(m.fields)
    const view = [h('h1', {}, `Metrics of ${path}`), h('p', {}, link('history', { path }, 'History')), names.length === 0 ? h('p', { class: 'empty' }, 'No numeric output in this path\'s history.') : charts]
    const draw = () => {
      for (const name of names) {
        const box = h('figure', { 'data-field': name }, h('figcaption', {}, name))
        charts.append(box)
        // uPlot draws each field against the history's sequence numbers.
        // eslint-disable-next-line no-new, new-cap
        new uPlot({ width: Math.min(900, main.clientWidth - 20), height: 240, scales: { x: { time: false } }, series: [{ label: 'seq' }, { label: name, stroke: '#2563eb', width: 2, points: { show: true } }] }, [m.seq, m.fields[name]], box)
      }
    }
    return { data: m, view, after: draw, live: { path }, name: 'metrics' }
  },

  async lineage (q) {
    const paths = q.getAll('path')
    const params = new URLSearchParams()
    for (const p of paths) params.append('path', p)
    const data = await api('lineage', params)
    const box = h('div', { id: 'graph' })
    const view = [h('h1', {}, paths.length === 0 ? 'Lineage' : `Lineage of ${paths.join(', ')}`), data.problem === null ? box : h('p', { class: 'problems' }, data.problem)]
    const after = () => {
      if (data.svg === null) { showPlan(null, data.graph.nodes, planBox); return }
      const doc = new DOMParser().parseFromString(data.svg, 'image/svg+xml')
      const svg = document.importNode(doc.documentElement, true)
      if (svg.nodeName !== 'svg') { showPlan(null, data.graph.nodes, planBox); return }
      for (const el of svg.querySelectorAll('script, foreignObject')) el.remove()
      for (const el of [svg, ...svg.querySelectorAll('*')]) {
        for (const a of [...el.attributes]) if (/^on/i.test(a.name) || (/href$/i.test(a.name) && !a.value.startsWith('#'))) el.removeAttribute(a.name)
      }
      svg.setAttribute('width', '100%')
      svg.setAttribute('height', '600')
      box.append(svg)
      // Graphviz names the nodes n0, n1… in the order of the graph's nodes.
      for (const g of svg.querySelectorAll('g.node')) {
        const n = data.graph.nodes[Number(g.querySelector('title')?.textContent?.slice(1))]
        if (n === undefined || n.evaluation === null) continue
        g.classList.add('link')
        g.setAttribute('data-evaluation', n.evaluation)
        g.setAttribute('data-index', g.querySelector('title')?.textContent?.slice(1))
        g.addEventListener('click', () => { location.hash = '#/evaluation?' + new URLSearchParams({ target: n.evaluation }) })
      }
      svgPanZoom(svg, { controlIconsEnabled: true, fit: true, center: true })
      showPlan(svg, data.graph.nodes, planBox)
    }
    const planBox = h('section', { id: 'plan', 'data-state': 'loading' }, h('p', { class: 'note' }, 'Working out what the next run will do…'))
    view.push(planBox)
    return { data, view, after, live: null, name: 'lineage' }
  }
}

/** The statuses of `dds plan`, in the order shown, with their words. */
const PLAN_WORDS = [['will-run', 'will re-run'], ['revert-hit', 'revert hit'], ['may-run', 'may re-run'], ['unknown', 'unknown'], ['up-to-date', 'up to date']]

/**
 * Ask for the plan (computed by the server on request, which can take a
 * moment) and mark the graph's current nodes with what the next run will do
 * to them; a legend with the counts, the summary line and, for every path
 * that will or may change, its reasons.
 */
async function showPlan (svg, nodes, box) {
  let data
  try {
    data = await api('plan')
  } catch (err) {
    data = { plan: null, summary: null, problem: String(err.message) }
  }
  if (!box.isConnected) return
  if (data.plan === null) {
    box.replaceChildren(h('p', { class: 'note' }, 'What the next run will do is not available: ', data.problem ?? ''))
    box.dataset.state = 'unavailable'
    return
  }
  const byEvaluation = new Map(data.plan.paths.map((p) => [p.evaluation, p]))
  const words = new Map(PLAN_WORDS)
  for (const g of svg === null ? [] : svg.querySelectorAll('g.node[data-index]')) {
    const n = nodes[Number(g.getAttribute('data-index'))]
    const p = n?.current === true ? byEvaluation.get(n.evaluation) : undefined
    if (p === undefined) continue
    g.classList.add('plan-' + p.status)
    g.setAttribute('data-plan', p.status)
    // The tooltip: the node's path, its status and why, as text.
    const title = g.querySelector('title')
    if (title !== null) title.textContent = `${p.path}: ${words.get(p.status)}${p.why.length > 0 ? ' (' + p.why.join('; ') + ')' : ''}`
  }
  const legend = h('ul', { class: 'plan-legend' }, PLAN_WORDS.map(([status, w]) =>
    h('li', { 'data-status': status }, h('span', { class: 'swatch plan-' + status }), `${w}: ${data.plan.counts[status] ?? 0}`)))
  const changing = data.plan.paths.filter((p) => p.status !== 'up-to-date')
  const rows = changing.map((p) => h('tr', { 'data-path': p.path, 'data-status': p.status },
    h('td', {}, link('history', { path: p.path }, p.path)), h('td', {}, words.get(p.status)), h('td', { class: 'num' }, took(Math.round(p.duration * 10) / 10)), h('td', {}, p.why.join('; '))))
  box.replaceChildren(h('h2', {}, 'The next run (dds plan)'), legend, h('p', { class: 'summary' }, data.summary),
    changing.length === 0 ? null : table(['Path', 'Next run', 'Last run took', 'Why'], rows, { id: 'plan-paths' }))
  box.dataset.state = 'ready'
}

function outputView (target, e) {
  const p = e.preview
  const download = h('a', { href: withToken('/raw', { target }), download: e.output.cid, class: 'download' }, `Download (${size(e.output.size)})`)
  const head = h('p', {}, `${e.output.enc}${e.output.type === null ? '' : ' ' + e.output.type}, ${size(e.output.size)} `, download)
  if (p.kind === 'image') return [head, h('img', { src: withToken('/raw', { target, inline: 'image' }), alt: 'output image', class: 'output' })]
  if (p.kind === 'text') return [head, h('pre', { class: 'output' }, p.text + (p.truncated ? '\n…' : ''))]
  if (p.kind === 'hex') return [head, h('pre', { class: 'output hex' }, p.hex.match(/.{1,64}/g)?.map((l) => l.match(/../g).join(' ')).join('\n') ?? '', p.truncated ? '\n…' : '')]
  if (p.kind === 'large') return [head, h('p', {}, 'Too large to show here: download it.')]
  if (p.kind === 'table') return [head, arrowView(target, e.output.table)]
  if (Array.isArray(p.value) && isRecords(p.value)) head.append(' ', csvLink(target))
  return [head, valueView(p.value)]
}

const SOURCE_STATUS = {
  outside: 'not shown: the key names a file outside the project',
  package: 'in another package of the workspace',
  missing: 'the file is not in the working tree',
  'too-large': 'the file is too large to show',
  'not-found': 'the file no longer declares it',
  unparsed: 'the file could not be parsed here'
}

/** The reached declarations: as recorded beside as they are now (the manifest records only hashes, so today only now). */
function sourceView (src) {
  const note = src.recorded === null
    ? h('p', { class: 'note' }, 'The code manifest holds only a hash of each declaration, not its text: the source as it ran is not stored. Shown: the current source in the working tree.')
    : null
  if (src.current === null) return [note, h('p', {}, 'No project directory was given to the server: no current source.')]
  return [note, h('div', { class: 'sources' }, src.current.map((d) => h('figure', { class: 'source', 'data-key': d.key },
    h('figcaption', {}, d.key, d.line === null ? '' : ` (line ${d.line})`, d.key === src.entry ? ' · entry' : ''),
    src.recorded === null || src.recorded[d.key] === undefined ? null : h('pre', { class: 'recorded' }, src.recorded[d.key]),
    d.status === 'ok' ? h('pre', { class: 'current' }, d.text) : h('p', { class: 'status' }, SOURCE_STATUS[d.status] ?? d.status))))]
}

function isRecords (v) {
  return v.length > 0 && v.every((x) => x !== null && typeof x === 'object' && !Array.isArray(x))
}

function csvLink (target) {
  return h('a', { href: withToken('/raw', { target, format: 'csv' }), class: 'download csv' }, 'CSV')
}

const TABLE_PAGE = 50

/** An Arrow table: its schema, and its rows a page at a time from the server (never the whole table). */
function arrowView (target, schema) {
  const rows = h('div', { class: 'arrow-rows' })
  const show = async (offset) => {
    try {
      const page = await api('table', { target, offset: String(offset), limit: String(TABLE_PAGE) })
      const last = offset + page.cells.length
      rows.replaceChildren(
        table(page.columns.map((c) => c.name), page.cells.map((r) => h('tr', {}, r.map((c) => h('td', { class: c === null ? 'null' : undefined }, c ?? 'null')))), { class: 'arrow' }),
        h('p', { class: 'pager' }, `rows ${page.cells.length === 0 ? 0 : offset + 1}–${last} of ${page.rows} `,
          offset === 0 ? null : h('button', { type: 'button', class: 'prev', onclick: () => show(Math.max(0, offset - TABLE_PAGE)) }, 'Previous'), ' ',
          last >= page.rows ? null : h('button', { type: 'button', class: 'next', onclick: () => show(last) }, 'Next')))
    } catch (err) {
      rows.replaceChildren(h('p', { class: 'problems' }, String(err.message)))
    }
  }
  show(0)
  return h('div', { class: 'arrow-table' },
    h('p', {}, `Arrow table, ${schema.rows} rows, ${schema.columns.length} columns `, csvLink(target)),
    h('details', {}, h('summary', {}, 'Schema'), table(['Column', 'Type', 'Nullable'], schema.columns.map((c) => h('tr', {}, h('td', {}, c.name), h('td', { class: 'hash' }, c.type), h('td', {}, c.nullable ? 'yes' : 'no'))), { class: 'schema' })),
    rows)
}

/** A table for an array of records, else a JSON tree (folded below the first levels). */
function valueView (v) {
  if (Array.isArray(v) && isRecords(v)) {
    const cols = [...new Set(v.slice(0, 1000).flatMap((x) => Object.keys(x)))]
    const cell = (x) => x === undefined ? '' : typeof x === 'object' && x !== null ? JSON.stringify(x) : String(x)
    return h('div', { class: 'records' }, table(cols, v.slice(0, 1000).map((r) => h('tr', {}, cols.map((c) => h('td', {}, cell(r[c])))))), v.length > 1000 ? h('p', {}, `first 1000 of ${v.length} records`) : null)
  }
  return h('div', { class: 'tree' }, tree(v, 0))
}

function tree (v, depth) {
  if (v === null || typeof v !== 'object') return h('span', { class: 'leaf ' + (v === null ? 'null' : typeof v) }, JSON.stringify(v))
  const entries = Array.isArray(v) ? v.map((x, i) => [String(i), x]) : Object.entries(v)
  const label = Array.isArray(v) ? `Array(${v.length})` : `{${entries.length}}`
  return h('details', { open: depth < 2 }, h('summary', {}, label),
    h('ul', {}, entries.slice(0, 500).map(([k, x]) => h('li', {}, h('span', { class: 'key' }, k), ': ', tree(x, depth + 1))), entries.length > 500 ? h('li', {}, `… ${entries.length - 500} more`) : null))
}

async function showWhy (path, picked, box) {
  const [a, b] = [...picked].sort((x, y) => x - y)
  box.replaceChildren(h('p', {}, 'Comparing…'))
  try {
    const w = await api('why', { path, old: String(a), new: String(b) })
    box.replaceChildren(h('h2', {}, `Why ${path}@${b} differs from @${a}`),
      w.identical ? h('p', {}, 'Identical: the same evaluation, or the same signature with the same loads and files.') : null,
      w.changes.length === 0 ? h('p', {}, 'No difference.') : table(['Kind', 'Change', 'What', 'Old', 'New'], w.changes.map((c) => h('tr', {}, h('td', {}, c.kind), h('td', {}, c.change),
        h('td', {}, String(c.name ?? c.path ?? c.index ?? c.field ?? '')), h('td', { class: 'hash' }, show(c.old)), h('td', { class: 'hash' }, show(c.new))))))
  } catch (err) {
    box.replaceChildren(h('p', { class: 'problems' }, String(err.message)))
  }
}

function show (v) {
  if (v === undefined || v === null) return ''
  return typeof v === 'object' ? (v.output ?? v.digest ?? JSON.stringify(v)) : String(v)
}

let generation = 0
let timer

async function render () {
  const mine = ++generation
  clearTimeout(timer)
  const [route, query] = location.hash.replace(/^#\/?/, '').split('?')
  const page = Object.hasOwn(pages, route) ? pages[route] : pages.paths
  const q = new URLSearchParams(query ?? '')
  try {
    const r = await page(q)
    if (mine !== generation) return
    main.replaceChildren(...r.view.flat().filter((x) => x !== null))
    main.dataset.page = r.name
    r.after?.()
    if (r.live !== null) poll(mine, r.name, r.live, JSON.stringify(r.data))
  } catch (err) {
    if (mine !== generation) return
    main.replaceChildren(h('h1', {}, 'Not available'), h('p', { class: 'problems' }, String(err.message)))
    main.dataset.page = 'error'
  }
}

/** New runs in other processes show up without a reload: the page's data is fetched again and redrawn when it changed. */
function poll (mine, name, params, last) {
  timer = setTimeout(async () => {
    if (mine !== generation) return
    try {
      const now = JSON.stringify(await api(name, params))
      if (mine !== generation) return
      if (now !== last) { await render(); return }
    } catch { /* the next poll tries again */ }
    poll(mine, name, params, last)
  }, POLL_MS)
}

addEventListener('hashchange', render)
render()
