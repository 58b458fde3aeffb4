// Shared pieces of the end-to-end tests: polling for a condition, a node's status, the PD's
// range and store lists, running a command to its end, and whether a process is alive.

import { spawn } from 'node:child_process'
import { Client, credentials } from '@grpc/grpc-js'
import { unaryCall, type RangeDescriptorJson } from '@mrdb/kv'
import { NODE_SERVICE, PD_SERVICE, type NodeStatusResponse, type PdRoutingResponse, type StoreViewJson } from '@mrdb/server'
import { callNode } from '../node-call.js'

/** Polls `cond` every 100 ms (errors count as "not yet") until it holds; throws after `timeoutMs`, with the last error `cond` threw. */
export async function waitFor(what: string, cond: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  for (;;) {
    try {
      if (await cond()) return
    } catch (err) {
      lastError = err // not yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${lastError === undefined ? '' : ` (last error: ${lastError instanceof Error ? lastError.message : String(lastError)})`}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** A node's admin status. */
export async function nodeStatus(address: string): Promise<NodeStatusResponse> {
  const channel = new Client(address, credentials.createInsecure())
  try {
    return await unaryCall(channel, NODE_SERVICE.status, {}, Date.now() + 5000)
  } finally {
    channel.close()
  }
}

/** One range as `mrdb range list --json` prints it: its descriptor, leader, size and load. */
export type RangeRow = RangeDescriptorJson & Omit<NonNullable<PdRoutingResponse['ranges']>[number], 'descriptor'>

/**
 * What `mrdb range list --json` prints, asked in this process: polls that spawn a CLI process
 * each time cost a loaded 2-core machine a fifth of a core-second per poll.
 */
export async function rangeList(address: string): Promise<RangeRow[]> {
  const res = await callNode(address, PD_SERVICE.routing, {})
  return (res.ranges ?? []).sort((a, b) => a.descriptor.startKey.localeCompare(b.descriptor.startKey)).map(({ descriptor, ...rest }) => ({ ...descriptor, ...rest }))
}

/** What `mrdb node list --json` prints, asked in this process (see {@link rangeList}). */
export async function storeList(address: string): Promise<StoreViewJson[]> {
  return (await callNode(address, PD_SERVICE.stores, {})).stores ?? []
}

/** Runs a command to its end with `input` on its stdin (and `env` added to the environment); resolves with its exit code and output. */
export function run(cmd: string, args: string[], input = '', env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } })
    let out = ''
    let err = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    child.stderr.on('data', (d: Buffer) => (err += d.toString()))
    child.once('exit', (code) => resolve({ code, out, err }))
    // A command that exits without reading its input closes the pipe: not an error here.
    child.stdin.on('error', () => undefined)
    child.stdin.end(input)
  })
}

/** Whether process `pid` is still running. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}
