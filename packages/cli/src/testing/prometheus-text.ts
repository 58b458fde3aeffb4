// A parser of the Prometheus text exposition format (version 0.0.4), for tests that read a
// node's /metrics: `# HELP` and `# TYPE` lines, and samples `name{label="value",…} value`
// with the format's escapes in label values. It rejects what the format does not allow, so
// a test that parses a scrape also checks it is well formed.

/** One sample line. */
export interface PromSample {
  name: string
  labels: Record<string, string>
  value: number
}

/** A metric family: its declared type and help, and its samples (a histogram's _bucket/_sum/_count included). */
export interface PromFamily {
  name: string
  type: string
  help: string
  samples: PromSample[]
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const SUFFIXES = ['_bucket', '_sum', '_count', '_total', '_created']

/** Parses a scrape into its families by name; throws on a malformed line. */
export function parsePrometheusText(text: string): Map<string, PromFamily> {
  const families = new Map<string, PromFamily>()
  const family = (name: string) => {
    let f = families.get(name)
    if (!f) families.set(name, (f = { name, type: 'untyped', help: '', samples: [] }))
    return f
  }
  text.split('\n').forEach((line, i) => {
    const fail = (why: string): never => {
      throw new Error(`line ${i + 1}: ${why}: ${line}`)
    }
    if (line.trim() === '') return
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line)
      if (!m) return // a comment
      if (!NAME.test(m[2]!)) fail('bad metric name')
      const f = family(m[2]!)
      if (m[1] === 'TYPE') {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(m[3]!)) fail('bad type')
        f.type = m[3]!
      } else f.help = m[3]!.replace(/\\n/g, '\n').replace(/\\\\/g, '\\')
      return
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)( -?\d+)?$/.exec(line)
    if (!m) return fail('not a sample')
    const name = m[1]!
    const labels = m[3] === undefined ? {} : parseLabels(m[3], fail)
    const value = m[4] === '+Inf' ? Infinity : m[4] === '-Inf' ? -Infinity : Number(m[4])
    if (Number.isNaN(value) && m[4] !== 'NaN') fail('bad value')
    const base = families.has(name) ? name : SUFFIXES.map((s) => (name.endsWith(s) ? name.slice(0, -s.length) : '')).find((b) => b !== '' && families.has(b))
    family(base ?? name).samples.push({ name, labels, value })
  })
  return families
}

function parseLabels(text: string, fail: (why: string) => never): Record<string, string> {
  const labels: Record<string, string> = {}
  const re = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|$)/y
  let at = 0
  while (at < text.length) {
    re.lastIndex = at
    const m = re.exec(text)
    if (!m) fail('bad labels')
    labels[m![1]!] = m![2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c))
    at = re.lastIndex
  }
  return labels
}

/** The sum of a family's samples named `sample` (default: the family's own name) whose labels include `match`. */
export function sampleSum(families: Map<string, PromFamily>, family: string, match: Record<string, string> = {}, sample = family): number {
  const f = families.get(family)
  if (!f) throw new Error(`no metric family ${family}`)
  return f.samples.filter((s) => s.name === sample && Object.entries(match).every(([k, v]) => s.labels[k] === v)).reduce((sum, s) => sum + s.value, 0)
}
