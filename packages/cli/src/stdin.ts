// Standard input, read whole or a line at a time (`mrdb sql` scripts, `mrdb kv put KEY -`).

import { createInterface } from 'node:readline'

/** Standard input's lines, as they arrive. */
export function stdinLines(): AsyncIterable<string> {
  return createInterface({ input: process.stdin, terminal: false, crlfDelay: Infinity })
}

/** Reads standard input to its end, as bytes. */
export async function readStdinBytes(): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

/** Reads standard input to its end, as UTF-8 text. */
export async function readStdin(): Promise<string> {
  return (await readStdinBytes()).toString('utf8')
}
