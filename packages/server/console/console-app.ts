// The web console's script, run by the browser (served as GET /console.js). Every second it
// reads GET /api/cluster (the placement driver leader's view of stores and ranges) and the
// serving node's GET /metrics (Prometheus text), then redraws the overview, the store
// table, the range map, the range table and the charts. Chart samples live only in this
// page: five minutes of them, lost on reload. Plain DOM and SVG, no library.

import type { ConsoleClusterView, ConsoleError, ConsoleRange, ConsoleStore } from '../src/http/console-view.js'

/** How often the page polls. */
const POLL_MS = 1000
/** How long a poll waits for the node before it reports it silent (the page keeps polling). */
const FETCH_TIMEOUT_MS = 5000
/** How much history the charts keep and show. */
const WINDOW_MS = 5 * 60_000
const SVG_NS = 'http://www.w3.org/2000/svg'
/** The chart's drawing box (the SVG stretches it to its element). */
const CHART_W = 300
const CHART_H = 90

/** One chart: a counter drawn as its rate per second, or a gauge drawn as it is. */
interface ChartSpec {
  title: string
  /** Series summed over their labels. */
  metrics: string[]
  kind: 'rate' | 'gauge'
  format: (v: number) => string
  /** Multiplies a gauge's value (seconds to ms, say). */
  scale?: number
}

const CHARTS: ChartSpec[] = [
  { title: 'KV requests served/s', metrics: ['mrdb_kv_requests_total'], kind: 'rate', format: perSecond },
  { title: 'SQL statements/s', metrics: ['mrdb_sql_statements_total'], kind: 'rate', format: perSecond },
  { title: 'Raft commits/s', metrics: ['mrdb_raft_commits_total'], kind: 'rate', format: perSecond },
  { title: 'Raft messages/s (sent and received)', metrics: ['mrdb_raft_messages_total'], kind: 'rate', format: perSecond },
  { title: 'Event-loop delay p99', metrics: ['nodejs_eventloop_lag_p99_seconds'], kind: 'gauge', scale: 1000, format: (v) => `${v.toFixed(1)} ms` },
  { title: 'Resident memory', metrics: ['process_resident_memory_bytes'], kind: 'gauge', format: bytes },
]

interface Sample {
  t: number
  v: number
}

/** A chart's elements and samples. */
interface Chart {
  spec: ChartSpec
  samples: Sample[]
  /** The counter's last total and when it was read (rates only). */
  last: Sample | undefined
  value: HTMLElement
  max: HTMLElement
  line: SVGPathElement
  area: SVGPathElement
}

/** The page's element with `id` (the page is served with all of them). */
function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const e = document.getElementById(id)
  if (!e) throw new Error(`the page has no #${id}`)
  return e as T
}

const el = {
  status: byId('cluster-status'),
  servedBy: byId('served-by'),
  updated: byId('updated'),
  banner: byId('banner'),
  storesLive: byId('stores-live'),
  rangeCount: byId('range-count'),
  unavailable: byId('ranges-unavailable'),
  underReplicated: byId('ranges-under-replicated'),
  pdLeader: byId('pd-leader'),
  stores: byId<HTMLTableElement>('stores'),
  charts: byId('charts'),
  metricsSource: byId('metrics-source'),
  rangeMap: byId<HTMLTableElement>('range-map'),
  ranges: byId<HTMLTableElement>('ranges'),
  rangesShown: byId('ranges-shown'),
}

const charts: Chart[] = CHARTS.map(makeChart)
/** When the cluster view last arrived (page clock). */
let lastUpdateMs = 0
/** How many cluster views have arrived (tests wait on it: body[data-updates]). */
let updates = 0

function makeChart(spec: ChartSpec): Chart {
  const box = document.createElement('div')
  box.className = 'chart'
  const title = document.createElement('div')
  title.className = 'title'
  const name = document.createElement('span')
  name.textContent = spec.title
  const value = document.createElement('b')
  value.textContent = '–'
  title.append(name, value)
  const svg = document.createElementNS(SVG_NS, 'svg')
  svg.setAttribute('viewBox', `0 0 ${CHART_W} ${CHART_H}`)
  svg.setAttribute('preserveAspectRatio', 'none')
  for (const y of [0.5, 1]) {
    const grid = document.createElementNS(SVG_NS, 'line')
    grid.setAttribute('x1', '0')
    grid.setAttribute('x2', String(CHART_W))
    grid.setAttribute('y1', String(CHART_H * y - 0.5))
    grid.setAttribute('y2', String(CHART_H * y - 0.5))
    svg.append(grid)
  }
  const area = document.createElementNS(SVG_NS, 'path')
  area.setAttribute('class', 'area')
  const line = document.createElementNS(SVG_NS, 'path')
  line.setAttribute('class', 'line')
  svg.append(area, line)
  const axis = document.createElement('div')
  axis.className = 'axis'
  const from = document.createElement('span')
  from.textContent = '−5 min'
  const max = document.createElement('span')
  const now = document.createElement('span')
  now.textContent = 'now'
  axis.append(from, max, now)
  box.append(title, svg, axis)
  el.charts.append(box)
  return { spec, samples: [], last: undefined, value, max, line, area }
}

/** Sums each series of Prometheus text over its labels (histogram parts keep their own names). */
function sumSeries(text: string): Map<string, number> {
  const sums = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{.*\})?\s+(\S+)/.exec(line)
    if (!m) continue
    const v = Number(m[2])
    if (Number.isFinite(v)) sums.set(m[1]!, (sums.get(m[1]!) ?? 0) + v)
  }
  return sums
}

function addSamples(sums: Map<string, number>, t: number): void {
  for (const c of charts) {
    if (!c.spec.metrics.some((m) => sums.has(m))) continue
    const total = c.spec.metrics.reduce((s, m) => s + (sums.get(m) ?? 0), 0)
    if (c.spec.kind === 'gauge') c.samples.push({ t, v: total * (c.spec.scale ?? 1) })
    else {
      // A counter that went down belongs to a restarted node: start again from it.
      if (c.last && total >= c.last.v && t > c.last.t) c.samples.push({ t, v: ((total - c.last.v) * 1000) / (t - c.last.t) })
      c.last = { t, v: total }
    }
    while (c.samples.length > 0 && c.samples[0]!.t < t - WINDOW_MS) c.samples.shift()
  }
}

function drawCharts(now: number): void {
  for (const c of charts) {
    const latest = c.samples.at(-1)
    c.value.textContent = latest ? c.spec.format(latest.v) : '–'
    const top = niceCeiling(Math.max(0, ...c.samples.map((s) => s.v)))
    c.max.textContent = `max ${c.spec.format(top)}`
    const x = (t: number) => (((t - (now - WINDOW_MS)) / WINDOW_MS) * CHART_W).toFixed(1)
    const y = (v: number) => (CHART_H - 1 - (v / top) * (CHART_H - 4)).toFixed(1)
    const points = c.samples.map((s) => `${x(s.t)},${y(s.v)}`)
    c.line.setAttribute('d', points.length > 0 ? `M${points.join('L')}` : '')
    c.area.setAttribute('d', points.length > 1 ? `M${x(c.samples[0]!.t)},${CHART_H}L${points.join('L')}L${x(latest!.t)},${CHART_H}Z` : '')
  }
}

/** The smallest of 1, 2, 2.5, 5 × 10^n at or above `v` (1 for 0): the charts' top. */
function niceCeiling(v: number): number {
  if (v <= 0) return 1
  const p = 10 ** Math.floor(Math.log10(v))
  return ([1, 2, 2.5, 5, 10].find((f) => f * p >= v) ?? 10) * p
}

function perSecond(v: number): string {
  return v >= 100 ? `${Math.round(v)}/s` : `${v.toFixed(1)}/s`
}

function bytes(v: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let i = 0
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`
}

function ago(ms: number): string {
  return ms < 1000 ? 'just now' : ms < 120_000 ? `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s ago` : `${Math.round(ms / 60_000)} min ago`
}

function escape(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

/** A key bound as `mrdb range list` shows it: printable text, else 0x and hex; an empty bound is an end of the keyspace. */
function showKey(hex: string, empty: string): string {
  if (hex === '') return empty
  const codes = hex.match(/../g)!.map((h) => parseInt(h, 16))
  return codes.every((c) => c >= 0x20 && c <= 0x7e) ? String.fromCharCode(...codes) : `0x${hex}`
}

/** Counted live by the PD (a suspect store still is). */
function isLive(s: ConsoleStore): boolean {
  return s.liveness === 'live' || s.liveness === 'suspect'
}

function drawCluster(v: ConsoleClusterView): void {
  el.status.textContent = v.status
  el.status.className = `badge ${v.status}`
  el.servedBy.textContent = `served by node ${v.nodeId}`
  el.metricsSource.textContent = `of node ${v.nodeId}, which serves this page; the last 5 minutes`
  const counted = v.stores.filter((s) => s.liveness !== 'removed')
  el.storesLive.textContent = `${counted.filter(isLive).length} / ${counted.length}`
  el.rangeCount.textContent = String(v.rangeCount)
  el.unavailable.textContent = String(v.unavailableRanges)
  el.underReplicated.textContent = String(v.underReplicatedRanges)
  el.pdLeader.textContent = v.pd && v.pd.leaderStoreId !== 0 ? `store ${v.pd.leaderStoreId}` : 'none'
  drawStores(v.stores)
  drawRangeMap(v.ranges, counted)
  drawRanges(v.ranges)
  el.rangesShown.textContent = v.ranges.length < v.rangeCount ? `the first ${v.ranges.length} of ${v.rangeCount}, in key order` : 'in key order'
}

function drawStores(stores: ConsoleStore[]): void {
  const rows = stores.map((s) => {
    const used = s.capacityBytes > 0 ? s.usedBytes / s.capacityBytes : 0
    return (
      `<tr data-store-id="${s.storeId}" data-liveness="${s.liveness}" class="${isLive(s) ? '' : 'dead'}">` +
      `<td>store ${s.storeId}</td><td class="mono">${escape(s.address)}</td>` +
      `<td><span class="badge ${s.liveness}">${s.liveness}</span></td>` +
      `<td class="num">${ago(s.heartbeatAgeMs)}</td><td>${escape(s.state)}</td>` +
      `<td><span class="bar"><i style="width:${(used * 100).toFixed(1)}%"></i></span>${bytes(s.usedBytes)} of ${bytes(s.capacityBytes)}</td>` +
      `<td class="num">${s.replicaCount}</td><td class="num">${s.leaderCount}</td><td>${s.pdRole ?? ''}</td></tr>`
    )
  })
  el.stores.tBodies[0]!.innerHTML = rows.join('')
}

function drawRangeMap(ranges: ConsoleRange[], stores: ConsoleStore[]): void {
  const dead = new Set(stores.filter((s) => !isLive(s)).map((s) => s.storeId))
  const deadClass = (id: number) => (dead.has(id) ? ' class="dead"' : '')
  el.rangeMap.tHead!.innerHTML = `<tr><th class="num">Range</th>${stores.map((s) => `<th${deadClass(s.storeId)} data-store-id="${s.storeId}">s${s.storeId}</th>`).join('')}</tr>`
  const rows = ranges.map((r) => {
    const cells = stores.map((s) => {
      const replica = r.replicas.find((p) => p.storeId === s.storeId)
      const cls = dead.has(s.storeId) ? 'cell dead' : 'cell'
      if (!replica) return `<td class="${cls}"></td>`
      const leader = r.leaderStoreId === s.storeId
      const kind = leader ? 'leader' : replica.role
      const title = `range ${r.rangeId} on store ${s.storeId}: ${replica.role}${leader ? ', leader' : ''} (replica ${replica.replicaId})`
      return `<td class="${cls}"><span class="${kind}" title="${title}">${leader ? 'L' : replica.role === 'learner' ? 'l' : ''}</span></td>`
    })
    return `<tr data-range-id="${r.rangeId}"><td class="num">r${r.rangeId}</td>${cells.join('')}</tr>`
  })
  el.rangeMap.tBodies[0]!.innerHTML = rows.join('')
}

function drawRanges(ranges: ConsoleRange[]): void {
  const rows = ranges.map((r) => {
    const replicas = r.replicas.map((p) => `${p.storeId}${p.role === 'learner' ? ' (learner)' : ''}`).join(', ')
    return (
      `<tr data-range-id="${r.rangeId}" data-status="${r.status}"><td class="num">${r.rangeId}</td>` +
      `<td class="mono">${escape(showKey(r.startKey, '−∞'))}</td><td class="mono">${escape(showKey(r.endKey, '+∞'))}</td>` +
      `<td>${replicas}</td><td class="num">${r.leaderStoreId === 0 ? '?' : r.leaderStoreId}</td>` +
      `<td class="num">${r.queriesPerSecond.toFixed(1)}</td><td class="num">${bytes(r.approximateBytes)}</td><td class="num">${r.approximateKeys}</td>` +
      `<td><span class="badge ${r.status}">${r.status}</span></td></tr>`
    )
  })
  el.ranges.tBodies[0]!.innerHTML = rows.join('')
}

function showProblem(message: string | undefined): void {
  el.banner.hidden = message === undefined
  el.banner.textContent = message ?? ''
}

/** The cluster view, or why there is none. */
async function readCluster(): Promise<ConsoleClusterView | string> {
  const res = await fetch('/api/cluster', { cache: 'no-store', signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) })
  const body = (await res.json()) as ConsoleClusterView | ConsoleError
  if ('code' in body) return `the cluster view is unavailable: ${body.code}: ${body.error}`
  return body
}

async function poll(): Promise<void> {
  const started = Date.now()
  const [cluster, metrics] = await Promise.allSettled([readCluster(), fetch('/metrics', { cache: 'no-store', signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) }).then((r) => r.text())])
  const now = Date.now()
  const problems: string[] = []
  if (cluster.status === 'rejected') problems.push(`this node does not answer: ${String(cluster.reason)}`)
  else if (typeof cluster.value === 'string') problems.push(cluster.value)
  else {
    drawCluster(cluster.value)
    lastUpdateMs = now
    document.body.dataset['updates'] = String(++updates)
  }
  if (metrics.status === 'fulfilled') addSamples(sumSeries(metrics.value), now)
  drawCharts(now)
  el.updated.textContent = lastUpdateMs === 0 ? 'not updated yet' : `updated ${ago(now - lastUpdateMs)}`
  showProblem(problems.length > 0 ? `${problems.join('; ')} — showing what was last read` : undefined)
  setTimeout(() => void poll(), Math.max(0, POLL_MS - (Date.now() - started)))
}

void poll()
