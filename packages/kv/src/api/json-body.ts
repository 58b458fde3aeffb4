// JSON bodies for the gRPC services that speak JSON — the node's admin service and the
// placement driver's (the KV service is binary: kv-wire.ts). Request bodies as they arrive
// from the network are JSON that may be anything. Decoding checks
// the body's structure before JSON.parse runs, because the parser's cost is not its size:
// 64 MiB of `[{},{},…]` (under the server's message limit) keeps a node's event loop, and
// with it every Raft group on the node, busy for about a minute and takes gigabytes of heap,
// while 64 MiB of real requests (keys and values are base64 strings) parses in about a second.
// Pure: no I/O.

import type { MethodDefinition } from '@grpc/grpc-js'
import { KvError, KvErrorCode } from './errors.js'

/**
 * Deepest nesting of arrays and objects a body may have. The deepest real request (a PD
 * heartbeat: leading ranges → descriptor → replicas → replica) nests 5 deep.
 */
export const MAX_BODY_DEPTH = 32

/** Structural tokens (`{`, `[`, `,`, `:`) any body may have, however short. */
const BASE_TOKENS = 4096

/**
 * Beyond {@link BASE_TOKENS}, a body must spend at least this many bytes per structural
 * token. Real requests spend 5 or more: the densest, a batch of one-byte deletes, spends 15
 * bytes on `{"key":"AQ=="},`, which has 3; a body of empty objects spends 1.5.
 */
const MIN_BYTES_PER_TOKEN = 4

const OPEN_BRACE = 0x7b
const OPEN_BRACKET = 0x5b
const CLOSE_BRACE = 0x7d
const CLOSE_BRACKET = 0x5d
const COMMA = 0x2c
const COLON = 0x3a
const QUOTE = 0x22
const BACKSLASH = 0x5c

/**
 * Decodes a request body: a JSON object or array, nested at most {@link MAX_BODY_DEPTH}
 * deep and no denser in structure than real requests are (see the file comment). Throws
 * KvError INVALID_ARGUMENT for anything else, after work linear in the body's bytes.
 */
export function decodeJsonBody(bytes: Uint8Array): object {
  const budget = BASE_TOKENS + Math.floor(bytes.byteLength / MIN_BYTES_PER_TOKEN)
  let depth = 0
  let tokens = 0
  for (let i = 0; i < bytes.byteLength; i++) {
    const c = bytes[i]!
    if (c === QUOTE) {
      // Skip the string: its contents are data, not structure.
      for (i++; i < bytes.byteLength && bytes[i] !== QUOTE; i++) if (bytes[i] === BACKSLASH) i++
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > MAX_BODY_DEPTH) throw malformed(`it nests deeper than ${MAX_BODY_DEPTH} levels`)
      if (++tokens > budget) throw tooDense(bytes.byteLength)
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--
    } else if (c === COMMA || c === COLON) {
      if (++tokens > budget) throw tooDense(bytes.byteLength)
    }
  }
  let value: unknown
  try {
    value = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'))
  } catch (err) {
    throw malformed(err instanceof Error ? err.message : 'it is not JSON')
  }
  if (value === null || typeof value !== 'object') throw malformed('it must be a JSON object or array')
  return value
}

function tooDense(length: number): KvError {
  return malformed(`more than ${BASE_TOKENS} + 1 per ${MIN_BYTES_PER_TOKEN} bytes of brackets, commas and colons in ${length} bytes`)
}

function malformed(why: string): KvError {
  return new KvError(KvErrorCode.INVALID_ARGUMENT, `malformed request body: ${why}`)
}

/**
 * The server side of a JSON request: the body, decoded but unchecked (see
 * {@link decodeJsonBody}), or — for bytes that are no acceptable body — the INVALID_ARGUMENT
 * error to answer with. Never throws: grpc-js answers a throwing deserializer with INTERNAL.
 */
export function decodeRequestBody(bytes: Buffer): object | KvError {
  try {
    return decodeJsonBody(bytes)
  } catch (err) {
    if (err instanceof KvError) return err
    throw err
  }
}

/**
 * A unary gRPC method of `service` whose bodies are JSON. `Req` types what clients send; a
 * server handler gets whatever arrived, through {@link decodeRequestBody}, and must check it.
 */
export function jsonMethod<Req, Res>(service: string, name: string): MethodDefinition<Req, Res> {
  return {
    path: `/${service}/${name}`,
    requestStream: false,
    responseStream: false,
    requestSerialize: (v: Req) => Buffer.from(JSON.stringify(v)),
    requestDeserialize: (b: Buffer) => decodeRequestBody(b) as Req,
    responseSerialize: (v: Res) => Buffer.from(JSON.stringify(v)),
    responseDeserialize: (b: Buffer) => JSON.parse(b.toString('utf8')) as Res,
  }
}

/** Bytes to a JSON body (base64). */
export const toWire = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64')
/** Bytes from a JSON body (base64). */
export const fromWire = (s: string): Uint8Array => Buffer.from(s, 'base64')
