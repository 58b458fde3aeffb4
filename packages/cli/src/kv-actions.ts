// What `mrdb kv put|get|del|scan` do (kv-commands.ts defines them): raw access to the
// key-value layer through the distributed client. Keys are UTF-8 text; values are printed as
// UTF-8 text and may come from an argument, standard input or a file.

import { readFile } from 'node:fs/promises'
import { GrpcSender, KvClient } from '@mrdb/kv'
import { clientCredentials } from './client-tls.js'
import { encodeKey, prefixEnd, pushAll } from '@mrdb/storage'
import { CliError } from './output.js'
import { readStdinBytes } from './stdin.js'

/** Where a value comes from: the argument itself, `-` for standard input, or `--file`. */
export interface ValueSource {
  readonly value?: string
  readonly file?: string
}

/**
 * Keys of the cluster's own records (SQL catalog, users, schema-change jobs: the `/sys`
 * part of the keyspace, DESIGN.md "Keyspace layout"), which `kv scan` leaves out unless
 * asked: they are encoded tuples whose first element is the string `/sys`.
 */
const SYSTEM_START = encodeKey(['/sys'])
const SYSTEM_END = prefixEnd(SYSTEM_START)!

const text = (b: Uint8Array) => Buffer.from(b).toString('utf8')

async function withClient<T>(host: string, fn: (c: KvClient) => Promise<T>): Promise<T> {
  const client = new KvClient({ hosts: [host], sender: new GrpcSender({ credentials: clientCredentials() }) })
  try {
    return await fn(client)
  } finally {
    client.close()
  }
}

/** The bytes to store: the argument, standard input for `-`, or the file; exactly one of them. */
async function valueOf(src: ValueSource): Promise<Uint8Array | string> {
  if (src.file !== undefined && src.value !== undefined) throw new CliError('INVALID_ARGUMENT', 'give the value as an argument or with --file, not both')
  if (src.file !== undefined) {
    try {
      return await readFile(src.file)
    } catch (err) {
      throw new CliError('INVALID_ARGUMENT', `cannot read --file ${src.file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`)
    }
  }
  if (src.value === undefined) throw new CliError('INVALID_ARGUMENT', 'no value: give it as an argument, - to read standard input, or --file PATH')
  return src.value === '-' ? readStdinBytes() : src.value
}

/** `kv put`: stores the value. */
export async function kvPut(host: string, key: string, src: ValueSource, json: boolean): Promise<void> {
  const value = await valueOf(src)
  await withClient(host, (c) => c.put(key, value))
  process.stdout.write(json ? `${JSON.stringify({ ok: true })}\n` : 'OK\n')
}

/** `kv get`: prints the value; exit code 1 when the key is absent. */
export async function kvGet(host: string, key: string, json: boolean): Promise<void> {
  const value = await withClient(host, (c) => c.get(key))
  if (json) process.stdout.write(`${JSON.stringify({ key, value: value === undefined ? null : text(value) })}\n`)
  else if (value === undefined) {
    process.stderr.write(`(not found)\n`)
    process.exitCode = 1
  } else process.stdout.write(`${text(value)}\n`)
}

/** `kv del`: deletes the key. */
export async function kvDelete(host: string, key: string, json: boolean): Promise<void> {
  await withClient(host, (c) => c.delete(key))
  process.stdout.write(json ? `${JSON.stringify({ ok: true })}\n` : 'OK\n')
}

/** The parts of [start, end) (empty end: no bound) outside the system keys, in key order. */
function userSpans(start: Uint8Array, end: Uint8Array): Array<[Uint8Array, Uint8Array]> {
  const below = (a: Uint8Array, b: Uint8Array) => Buffer.compare(a, b) < 0
  const spans: Array<[Uint8Array, Uint8Array]> = []
  if (below(start, SYSTEM_START)) spans.push([start, end.length > 0 && below(end, SYSTEM_START) ? end : SYSTEM_START])
  if (end.length === 0 || below(SYSTEM_END, end)) spans.push([below(start, SYSTEM_END) ? SYSTEM_END : start, end])
  return spans
}

/** `kv scan`: prints the keys of [start, end) in order, at most `limit`, system keys only with `system`. */
export async function kvScan(host: string, start: string, end: string, limit: number, o: { system: boolean; json: boolean }): Promise<void> {
  const spans: Array<[Uint8Array, Uint8Array]> = o.system ? [[Buffer.from(start), Buffer.from(end)]] : userSpans(Buffer.from(start), Buffer.from(end))
  const rows = await withClient(host, async (c) => {
    const found: Array<[Uint8Array, Uint8Array]> = []
    for (const [s, e] of spans) if (found.length < limit) pushAll(found, await c.scan(s, e, limit - found.length))
    return found
  })
  if (o.json) process.stdout.write(`${JSON.stringify(rows.map(([k, v]) => ({ key: text(k), value: text(v) })))}\n`)
  else for (const [k, v] of rows) process.stdout.write(`${text(k)}\t${text(v)}\n`)
}
