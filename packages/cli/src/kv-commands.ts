// `mrdb kv put|get|del|scan`: raw access to the key-value layer. Keys and values are UTF-8 text.

import { KvClient } from '@mrdb/kv'
import type { Command } from 'commander'
import { positiveInt } from './output.js'

interface HostOptions {
  host: string
  json?: boolean
}

const text = (b: Uint8Array) => Buffer.from(b).toString('utf8')

async function withClient<T>(opts: HostOptions, fn: (c: KvClient) => Promise<T>): Promise<T> {
  const client = new KvClient({ hosts: [opts.host] })
  try {
    return await fn(client)
  } finally {
    client.close()
  }
}

/** Adds `kv` and its subcommands to the program. */
export function addKvCommands(program: Command): void {
  const kv = program.command('kv').description('raw key-value access (linearizable reads, replicated writes)')
  const hostOption = (c: Command) => c.requiredOption('--host <host:port>', 'any node of the cluster').option('--json', 'print JSON')

  hostOption(kv.command('put <key> <value>').description('store a value')).action(async (key: string, value: string, opts: HostOptions) => {
    await withClient(opts, (c) => c.put(key, value))
    process.stdout.write(opts.json ? `${JSON.stringify({ ok: true })}\n` : 'OK\n')
  })

  hostOption(kv.command('get <key>').description('read a value (exit code 1 when absent)')).action(async (key: string, opts: HostOptions) => {
    const value = await withClient(opts, (c) => c.get(key))
    if (opts.json) process.stdout.write(`${JSON.stringify({ key, value: value === undefined ? null : text(value) })}\n`)
    else if (value === undefined) {
      process.stderr.write(`(not found)\n`)
      process.exitCode = 1
    } else process.stdout.write(`${text(value)}\n`)
  })

  hostOption(kv.command('del <key>').description('delete a key')).action(async (key: string, opts: HostOptions) => {
    await withClient(opts, (c) => c.delete(key))
    process.stdout.write(opts.json ? `${JSON.stringify({ ok: true })}\n` : 'OK\n')
  })

  hostOption(kv.command('scan [start] [end]').description('list keys in [start, end) in order'))
    .option('--limit <n>', 'at most this many rows', '100')
    .action(async (start: string | undefined, end: string | undefined, opts: HostOptions & { limit: string }) => {
      const rows = await withClient(opts, (c) => c.scan(start ?? '', end ?? '', positiveInt(opts.limit, '--limit')))
      if (opts.json) process.stdout.write(`${JSON.stringify(rows.map(([k, v]) => ({ key: text(k), value: text(v) })))}\n`)
      else for (const [k, v] of rows) process.stdout.write(`${text(k)}\t${text(v)}\n`)
    })
}
