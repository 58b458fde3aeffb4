// A node's log (pino): JSON lines in DATA/logs/mrdb.log, for machines, and the same events
// as readable text on stderr, for a terminal. Every line carries the node id; events about
// one range carry `rangeId` (and `term` where Raft has one). The packages below the node
// report through plain-text loggers (RaftLogger and its kin); {@link textLogger} carries
// their lines in, with the range and term they name lifted into fields.

import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { pino, type DestinationStream, type Level, type LevelWithSilent, type Logger } from 'pino'
import type { RaftLogger } from '@mrdb/raft'

/** The node's structured logger. */
export type NodeLogger = Logger

/** Options of {@link openNodeLog}. */
export interface NodeLogOptions {
  nodeId: number
  /** The node's data directory: the log file is `logs/mrdb.log` in it. */
  dataDir: string
  /** The least level written to stderr; default 'info'. 'silent' writes nothing there. */
  stderrLevel?: LevelWithSilent
  /** The least level written to the file; default 'info'. */
  fileLevel?: Level
}

/** A node's open log; {@link close} flushes the file. */
export interface NodeLog {
  readonly logger: NodeLogger
  /** Where the JSON lines go. */
  readonly file: string
  /** Flushes and closes the file. */
  close(): Promise<void>
}

/** pino's numeric levels, by name, and back. */
const LEVEL_NAMES: Readonly<Record<number, string>> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' }
/** Fields every line has, which the text form shows in its own way. */
const SHOWN_FIELDS = new Set(['level', 'time', 'msg', 'nodeId', 'rangeId', 'term'])

/** Opens the log of node `nodeId`; see the file comment. */
export function openNodeLog(o: NodeLogOptions): NodeLog {
  const dir = join(o.dataDir, 'logs')
  mkdirSync(dir, { recursive: true })
  const file = join(dir, 'mrdb.log')
  const fileStream = pino.destination({ dest: file, append: true, sync: false })
  const fileLevel = o.fileLevel ?? 'info'
  const stderrLevel = o.stderrLevel ?? 'info'
  const streams: pino.StreamEntry[] = [{ level: fileLevel, stream: fileStream }]
  if (stderrLevel !== 'silent') streams.push({ level: stderrLevel, stream: textStream(process.stderr) })
  const least = streams.map((s) => pino.levels.values[s.level ?? 'info']!).reduce((a, b) => Math.min(a, b))
  const logger = pino(
    { level: pino.levels.labels[least]!, base: { nodeId: o.nodeId }, timestamp: pino.stdTimeFunctions.isoTime },
    pino.multistream(streams),
  )
  return {
    logger,
    file,
    // end() writes what is buffered, once the file is open, then closes it.
    close: () =>
      new Promise<void>((resolve) => {
        fileStream.once('close', () => resolve())
        fileStream.once('error', () => resolve())
        fileStream.end()
      }),
  }
}

/**
 * A stream that writes each JSON line as text:
 * `2026-12-07T01:35:58.123Z INFO  n1 r5 t7 message {"other":"fields"}`.
 */
function textStream(out: NodeJS.WritableStream): DestinationStream {
  return {
    write(line: string) {
      out.write(`${formatLine(line)}\n`)
    },
  }
}

/** One JSON log line as text (see {@link textStream}); a line that is not JSON comes back as it is. */
export function formatLine(line: string): string {
  let rec: Record<string, unknown>
  try {
    rec = JSON.parse(line) as Record<string, unknown>
  } catch {
    return line.trimEnd()
  }
  const level = (LEVEL_NAMES[rec.level as number] ?? String(rec.level)).padEnd(5)
  const where = [`n${String(rec.nodeId)}`, rec.rangeId === undefined ? '' : `r${String(rec.rangeId)}`, rec.term === undefined ? '' : `t${String(rec.term)}`].filter((s) => s !== '').join(' ')
  const rest = Object.fromEntries(Object.entries(rec).filter(([k]) => !SHOWN_FIELDS.has(k)))
  const extra = Object.keys(rest).length > 0 ? ` ${JSON.stringify(rest)}` : ''
  return `${String(rec.time)} ${level} ${where} ${String(rec.msg ?? '')}${extra}`
}

/** A line's range (`range 5: …`, `group 5: …`) and Raft term (`term 7`, `[term 7]`), when it names them. */
export function lineFields(msg: string): { rangeId?: number; term?: number } {
  const fields: { rangeId?: number; term?: number } = {}
  const range = /^(?:gc: )?(?:range|group) (\d+)\b/.exec(msg)
  if (range) fields.rangeId = Number(range[1])
  const term = /\bterm:? (\d+)\b/.exec(msg)
  if (term) fields.term = Number(term[1])
  return fields
}

/**
 * A plain-text logger (what storage, raft, kv and placement take) writing to `logger`, with
 * the range and term a line names as fields. `infoAs` is the level its info lines get:
 * Raft's core writes one for every vote of every range, which is debug detail for an
 * operator (the node logs elections and leader changes itself, with the range).
 */
export function textLogger(logger: NodeLogger, infoAs: 'info' | 'debug' = 'info'): RaftLogger {
  const write = (level: Level, msg: string) => {
    if (logger.isLevelEnabled(level)) logger[level](lineFields(msg), msg)
  }
  return {
    debug: (msg) => write('debug', msg),
    info: (msg) => write(infoAs, msg),
    warn: (msg) => write('warn', msg),
  }
}

/**
 * `write` at most once per `intervalMs` of `clock` (slow fsyncs or requests under overload
 * would otherwise flood the log); each call passes how many events were dropped since the last.
 */
export function throttled<T>(intervalMs: number, write: (event: T, dropped: number) => void, clock: () => number = () => performance.now()): (event: T) => void {
  let last = -Infinity
  let dropped = 0
  return (event) => {
    const now = clock()
    if (now - last < intervalMs) {
      dropped++
      return
    }
    last = now
    write(event, dropped)
    dropped = 0
  }
}
