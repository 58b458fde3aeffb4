// A cluster off loopback: three node processes in three network namespaces joined by a
// bridge, with addresses 10.200.x.y inside them (created and removed by the test). Each node
// binds 0.0.0.0 and advertises its namespace's address (`--advertise`); init, SQL and the
// operator CLI run inside the namespaces against those addresses. Then node 3 restarts with a
// new address (its old one removed), and the others find it there: with node 1 stopped, a
// write needs node 3's vote. Skipped, with the reason printed, where `ip netns` is not
// permitted.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { randomInt } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { StoreViewJson } from '@mrdb/server'
import { MRDB_BIN, NodeProcess } from '../node-process.js'
import { run, waitFor } from './helpers.js'

const PORT = 26257
const SQL_PORT = 26258

/** Runs `ip …`; throws with its stderr on failure. */
function ip(...args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.error?.message ?? r.stderr.trim()}`)
}

/** Three namespaces on one bridge, each with an address in 10.200.<subnet>.0/24; see the file comment. */
class Netns {
  readonly subnet = randomInt(1, 255)
  private readonly tag = randomInt(0x1000, 0xffff).toString(16)
  readonly bridge = `mrdb${this.tag}br`
  private readonly created: string[] = []

  /** The namespace of node `i`. */
  ns(i: number): string {
    return `mrdb-${this.tag}-${i}`
  }

  /** The address `host` (1–254) in the subnet. */
  addr(host: number): string {
    return `10.200.${this.subnet}.${host}`
  }

  /** Creates the bridge and `n` namespaces, node i at host address i. */
  create(n: number): void {
    ip('link', 'add', this.bridge, 'type', 'bridge')
    ip('link', 'set', this.bridge, 'up')
    for (let i = 1; i <= n; i++) {
      const ns = this.ns(i)
      ip('netns', 'add', ns)
      this.created.push(ns)
      const veth = `mrdb${this.tag}v${i}`
      ip('link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns)
      ip('link', 'set', veth, 'master', this.bridge)
      ip('link', 'set', veth, 'up')
      ip('-n', ns, 'link', 'set', 'lo', 'up')
      ip('-n', ns, 'addr', 'add', `${this.addr(i)}/24`, 'dev', 'eth0')
      ip('-n', ns, 'link', 'set', 'eth0', 'up')
    }
  }

  /** Removes every namespace (their veth ends go with them) and the bridge. */
  destroy(): void {
    for (const ns of this.created.splice(0)) spawnSync('ip', ['netns', 'del', ns])
    spawnSync('ip', ['link', 'del', this.bridge])
  }
}

/** Why network namespaces cannot be used here, or undefined if they can. */
function netnsUnavailable(): string | undefined {
  const probe = `mrdb-probe-${process.pid}`
  const r = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' })
  if (r.error) return `no ip command: ${r.error.message}`
  if (r.status !== 0) return `ip netns add is not permitted: ${r.stderr.trim()}`
  spawnSync('ip', ['netns', 'del', probe])
  return undefined
}

const unavailable = netnsUnavailable()
if (unavailable) console.log(`# netns-cluster skipped: ${unavailable}`)

test('a cluster in three network namespaces, found at advertised addresses, also after one moves', { skip: unavailable, timeout: 300_000 }, async () => {
  const net = new Netns()
  const dir = await mkdtemp(join(tmpdir(), 'mrdb-netns-'))
  const nodes = new Map<number, NodeProcess>()
  /** Runs `mrdb` inside node `i`'s namespace; throws on failure. */
  const mrdb = async (i: number, args: string[]): Promise<string> => {
    const r = await run('ip', ['netns', 'exec', net.ns(i), process.execPath, MRDB_BIN, ...args])
    if (r.code !== 0) throw new Error(`mrdb ${args.join(' ')} in ${net.ns(i)} exited ${r.code}: ${r.err}${r.out}`)
    return r.out
  }
  const start = async (i: number, host: number): Promise<void> => {
    const node = await NodeProcess.start({
      storeId: i,
      netns: net.ns(i),
      listen: `0.0.0.0:${PORT}`,
      sqlListen: `0.0.0.0:${SQL_PORT}`,
      join: [`${net.addr(1)}:${PORT}`],
      dataDir: join(dir, `node${i}`),
      args: ['--advertise', `${net.addr(host)}:${PORT}`, '--insecure', '--heartbeat-ms', '300'],
    })
    nodes.set(i, node)
    assert.equal(node.address, `${net.addr(host)}:${PORT}`, 'the node prints the address it advertises')
    assert.equal(node.sqlAddress, `${net.addr(host)}:${SQL_PORT}`, 'its SQL port is advertised at the same host')
  }
  const stores = async (from: number) => JSON.parse(await mrdb(from, ['node', 'list', '--host', `${net.addr(from)}:${PORT}`, '--json'])) as StoreViewJson[]
  try {
    net.create(3)
    for (let i = 1; i <= 3; i++) await start(i, i)
    await waitFor('init', async () => {
      await mrdb(1, ['init', '--host', `${net.addr(1)}:${PORT}`, '--ranges', '2'])
      return true
    }, 120_000)
    // Every store is known by its advertised address, never 0.0.0.0 or loopback.
    await waitFor('three stores at their advertised addresses', async () => {
      const list = await stores(2)
      return list.length === 3 && list.every((s) => s.address === `${net.addr(s.storeId)}:${PORT}`)
    }, 60_000)
    await mrdb(2, ['sql', '--host', `${net.addr(2)}:${PORT}`, '-e', "CREATE TABLE t (k INT PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'one')"])
    assert.match(await mrdb(3, ['sql', '--host', `${net.addr(3)}:${PORT}`, '--format', 'csv', '-e', 'SELECT v FROM t WHERE k = 1']), /one/)

    // Node 3 moves: its old address is gone, it restarts advertising a new one.
    await nodes.get(3)!.stop()
    ip('-n', net.ns(3), 'addr', 'del', `${net.addr(3)}/24`, 'dev', 'eth0')
    ip('-n', net.ns(3), 'addr', 'add', `${net.addr(13)}/24`, 'dev', 'eth0')
    await start(3, 13)
    await waitFor('store 3 known at its new address', async () => (await stores(1)).find((s) => s.storeId === 3)?.address === `${net.addr(13)}:${PORT}` && (await stores(1)).every((s) => s.live), 60_000)

    // With node 1 gone, every quorum needs node 3 at its new address.
    await nodes.get(1)!.stop()
    await waitFor('a write and a read with node 1 stopped', async () => {
      await mrdb(2, ['sql', '--host', `${net.addr(2)}:${PORT}`, '-e', "INSERT INTO t VALUES (2, 'two') ON CONFLICT (k) DO NOTHING"])
      return /two/.test(await mrdb(3, ['sql', '--host', `${net.addr(13)}:${PORT}`, '--format', 'csv', '-e', 'SELECT v FROM t WHERE k = 2']))
    }, 120_000)
  } catch (err) {
    // What the nodes said is the first thing to read when this fails.
    for (const [id, n] of nodes) console.log(`# node ${id} stderr (last 40 lines):\n${n.log.join('').split('\n').slice(-40).join('\n')}`)
    throw err
  } finally {
    await Promise.all([...nodes.values()].map((n) => n.stop()))
    net.destroy()
    await rm(dir, { recursive: true, force: true })
  }
})
