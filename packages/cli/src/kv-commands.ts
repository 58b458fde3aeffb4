// `mrdb kv put|get|del|scan`: raw access to the key-value layer (kv-actions.ts does the work,
// loaded only when one of them runs).

import type { Command } from 'commander'
import { hostOption, reachableHost } from './host-option.js'
import { positiveInt } from './output.js'

interface KvOptions {
  json?: boolean
}

/** Adds `kv` and its subcommands to the program. */
export function addKvCommands(program: Command): void {
  const kv = program.command('kv').description('raw key-value access (linearizable reads, replicated writes)')
  const withHost = (c: Command) => c.addOption(hostOption()).option('--json', 'print JSON')

  withHost(kv.command('put <key> [value]').description('store a value: the argument, - to read it from standard input, or --file'))
    .option('--file <path>', 'read the value from this file (bytes as they are)')
    .action(async (key: string, value: string | undefined, opts: KvOptions & { file?: string }, cmd: Command) => {
      const host = await reachableHost(cmd)
      const { kvPut } = await import('./kv-actions.js')
      await kvPut(host.address, key, { value, file: opts.file }, opts.json === true)
    })

  withHost(kv.command('get <key>').description('read a value (exit code 1 when absent)')).action(async (key: string, opts: KvOptions, cmd: Command) => {
    const host = await reachableHost(cmd)
    const { kvGet } = await import('./kv-actions.js')
    await kvGet(host.address, key, opts.json === true)
  })

  withHost(kv.command('del <key>').description('delete a key')).action(async (key: string, opts: KvOptions, cmd: Command) => {
    const host = await reachableHost(cmd)
    const { kvDelete } = await import('./kv-actions.js')
    await kvDelete(host.address, key, opts.json === true)
  })

  withHost(kv.command('scan [start] [end]').description("list keys in [start, end) in order; the cluster's own records (under /sys) only with --system"))
    .option('--limit <n>', 'at most this many rows', '100')
    .option('--system', "include the cluster's own records (SQL catalog, users, jobs)")
    .action(async (start: string | undefined, end: string | undefined, opts: KvOptions & { limit: string; system?: boolean }, cmd: Command) => {
      const limit = positiveInt(opts.limit, '--limit')
      const host = await reachableHost(cmd)
      const { kvScan } = await import('./kv-actions.js')
      await kvScan(host.address, start ?? '', end ?? '', limit, { system: opts.system === true, json: opts.json === true })
    })
}
