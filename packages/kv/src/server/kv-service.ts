// The KV service a node serves over gRPC: each body is decoded into a typed request (bodies
// whose fields have the wrong types get INVALID_ARGUMENT), served by the node's request
// handler — the same one the node's own client reaches in-process — and the answer encoded
// back. Nothing is thrown past this boundary.

import type { Server, ServerDuplexStream, ServerUnaryCall, sendUnaryData, UntypedServiceImplementation } from '@grpc/grpc-js'
import { KvErrorCode } from '../api/errors.js'
import { KV_SERVICE, type CommandRequest, type CommandResponse, type WireResponse } from '../api/protocol.js'
import type { KvOp } from '../api/requests.js'
import { decodeRequestFromBody, encodeError, encodeResponseBody, isKvOp } from '../api/wire-codec.js'
import { toKvError } from './replica.js'
import type { KvRequestHandler } from './request-handler.js'

/** Adds the KV service, served by `handler`, to a gRPC server. */
export function addKvService(server: Server, handler: KvRequestHandler): void {
  const serve = (op: KvOp, body: unknown) => serveBody(handler, op, body)
  const impl: UntypedServiceImplementation = {
    commands: (call: ServerDuplexStream<CommandRequest[], CommandResponse[]>) => serveCommands(call, serve),
  }
  for (const op of Object.keys(KV_SERVICE)) {
    if (!isKvOp(op)) continue
    impl[op] = (call: ServerUnaryCall<unknown, WireResponse>, callback: sendUnaryData<WireResponse>): void => {
      void serve(op, call.request).then((res) => callback(null, res))
    }
  }
  server.addService(KV_SERVICE, impl)
}

/** Decodes a body, serves the request and encodes its answer; every failure becomes an error body. */
async function serveBody(handler: KvRequestHandler, op: KvOp, body: unknown): Promise<WireResponse> {
  try {
    return encodeResponseBody(op, await handler.handle(decodeRequestFromBody(op, body)))
  } catch (err) {
    return { error: encodeError(toKvError(err)) }
  }
}

/** Serves one command stream: runs every request as it arrives, answers each in the next batch out. */
function serveCommands(call: ServerDuplexStream<CommandRequest[], CommandResponse[]>, serve: (op: KvOp, body: unknown) => Promise<WireResponse>): void {
  let out: CommandResponse[] = []
  let flushScheduled = false
  const flush = () => {
    flushScheduled = false
    if (out.length === 0 || call.destroyed) return
    const batch = out
    out = []
    call.write(batch)
  }
  const answer = (id: number, body: WireResponse) => {
    out.push({ id, body })
    if (!flushScheduled) {
      flushScheduled = true
      setImmediate(flush)
    }
  }
  call.on('data', (requests: unknown) => {
    if (!Array.isArray(requests)) return
    for (const r of requests as Array<Partial<CommandRequest> | null>) {
      const id = r?.id
      if (typeof id !== 'number') continue
      const op = r?.op
      if (!isKvOp(op)) {
        answer(id, { error: { code: KvErrorCode.INVALID_ARGUMENT, message: `unknown operation ${String(op)}` } })
        continue
      }
      void serve(op, r?.body).then((body) => answer(id, body))
    }
  })
  call.on('error', () => {
    // the client went away; its requests' outcomes are unknown to it, as with any dropped call
  })
  call.on('end', () => call.end())
}
