// The KV service a node serves over gRPC: each message is decoded into typed requests
// (api/kv-wire.ts: a request that lacks what its kind needs gets INVALID_ARGUMENT), served by
// the node's request handler — the same one the node's own client reaches in-process, which
// checks every request's invariants — and the answer encoded back. Nothing is thrown past
// this boundary. A command-stream message that is no well-formed frame names no request to
// answer: the stream ends with INVALID_ARGUMENT (the client's waiting requests fail as on any
// broken stream); the node goes on.

import { status, type Server, type ServerDuplexStream, type ServerUnaryCall, type sendUnaryData, type UntypedServiceImplementation } from '@grpc/grpc-js'
import { KvError, KvErrorCode } from '../api/errors.js'
import type { DecodedRequest, NumberedResponse } from '../api/kv-wire.js'
import { messageCost, splitMessages } from '../api/message-split.js'
import { KV_SERVICE } from '../api/protocol.js'
import type { KvOp, KvRequest, KvResponse } from '../api/requests.js'
import type { KvRequestHandler } from './request-handler.js'

/** The unary methods by their request kind. */
const UNARY_OPS = Object.keys(KV_SERVICE).filter((k): k is KvOp => k !== 'commands')

/** Adds the KV service, served by `handler`, to a gRPC server. */
export function addKvService(server: Server, handler: KvRequestHandler): void {
  const impl: UntypedServiceImplementation = {
    commands: (call: ServerDuplexStream<DecodedRequest[] | KvError, readonly NumberedResponse[]>) => serveCommands(call, handler),
  }
  for (const op of UNARY_OPS) {
    impl[op] = (call: ServerUnaryCall<KvRequest | KvError, KvResponse>, callback: sendUnaryData<KvResponse>): void => {
      const req = call.request
      if (req instanceof KvError) return callback(null, { error: req })
      if (req.op !== op) return callback(null, { error: new KvError(KvErrorCode.INVALID_ARGUMENT, `the ${KV_SERVICE[op].path} method serves ${op} requests, not ${req.op}`) })
      void handler.handle(req).then((res) => callback(null, res))
    }
  }
  server.addService(KV_SERVICE, impl)
}

/** Serves one command stream: runs every request as it arrives, answers each in the next batch out. */
function serveCommands(call: ServerDuplexStream<DecodedRequest[] | KvError, readonly NumberedResponse[]>, handler: KvRequestHandler): void {
  let out: NumberedResponse[] = []
  let flushScheduled = false
  let refused = false
  const flush = () => {
    flushScheduled = false
    if (out.length === 0 || refused || call.destroyed) return
    const batch = out
    out = []
    // Answers of one turn beyond one message's limits go out in several (api/message-split.ts).
    for (const part of splitMessages(batch, (r) => messageCost(r.response))) call.write(part)
  }
  const answer = (id: number, response: KvResponse) => {
    out.push({ id, response })
    if (!flushScheduled) {
      flushScheduled = true
      setImmediate(flush)
    }
  }
  call.on('data', (frame: DecodedRequest[] | KvError) => {
    if (refused) return
    if (frame instanceof KvError) {
      refused = true
      call.emit('error', { code: status.INVALID_ARGUMENT, details: `${frame.code}: ${frame.message}` })
      return
    }
    for (const r of frame) {
      if (r.error) answer(r.id, { error: r.error })
      else void handler.handle(r.request).then((res) => answer(r.id, res))
    }
  })
  call.on('error', () => {
    // the client went away; its requests' outcomes are unknown to it, as with any dropped call
  })
  call.on('end', () => {
    if (!refused) call.end()
  })
}
