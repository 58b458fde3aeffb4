// KV requests as the node's gRPC server sees them, for metrics and the slow-request log:
// a server interceptor on the KV service times each request from its arrival to its answer
// (unary calls, and each request of a command stream, matched to its response by id) and
// reads the error code the answer carries. Other services pass through untouched.

import { ResponderBuilder, ServerInterceptingCall, ServerListenerBuilder, status as GrpcStatus, type ServerInterceptor } from '@grpc/grpc-js'
import { KV_SERVICE } from '@mrdb/kv'

/** One finished KV request. */
export interface KvRequestOutcome {
  /** The operation: 'get', 'put', 'prewrite', … */
  op: string
  durationMs: number
  /** The error code of the answer (a KvErrorCode, or the gRPC status name), none when it succeeded. */
  code?: string
}

/** The operation of each unary KV method, by path: the names command streams use ('get', 'cas', …). */
const UNARY_OPS = new Map<string, string>(Object.entries(KV_SERVICE).filter(([, m]) => !m.requestStream).map(([op, m]) => [m.path, op]))

/** The error code a KV answer carries, if any. */
function codeOf(body: unknown): string | undefined {
  const code = (body as { error?: { code?: unknown } } | null | undefined)?.error?.code
  return typeof code === 'string' ? code : undefined
}

/** An interceptor reporting every KV request's outcome to `observe`; see the file comment. */
export function kvRequestInterceptor(observe: (o: KvRequestOutcome) => void): ServerInterceptor {
  return (method, call) => {
    if (method.path === KV_SERVICE.commands.path) return commandStreamCall(call, observe)
    const op = UNARY_OPS.get(method.path)
    if (op === undefined) return new ServerInterceptingCall(call)
    let started = 0
    let answered = false
    return new ServerInterceptingCall(
      call,
      new ResponderBuilder()
        .withStart((next) => next(new ServerListenerBuilder().withOnReceiveMessage((message, nextMessage) => {
          started = performance.now()
          nextMessage(message)
        }).build()))
        .withSendMessage((message, next) => {
          answered = true
          observe({ op, durationMs: performance.now() - started, code: codeOf(message) })
          next(message)
        })
        .withSendStatus((status, next) => {
          if (!answered && started > 0 && status.code !== GrpcStatus.OK) observe({ op, durationMs: performance.now() - started, code: GrpcStatus[status.code ?? GrpcStatus.UNKNOWN] })
          next(status)
        })
        .build(),
    )
  }
}

/** A command stream: many requests per message, answered by id in any order. */
function commandStreamCall(call: ConstructorParameters<typeof ServerInterceptingCall>[0], observe: (o: KvRequestOutcome) => void): ServerInterceptingCall {
  const pending = new Map<number, { op: string; started: number }>()
  return new ServerInterceptingCall(
    call,
    new ResponderBuilder()
      .withStart((next) => next(new ServerListenerBuilder().withOnReceiveMessage((message: unknown, nextMessage) => {
        if (Array.isArray(message)) {
          const now = performance.now()
          for (const r of message as Array<{ id?: unknown; op?: unknown }>) {
            if (typeof r?.id === 'number' && typeof r.op === 'string') pending.set(r.id, { op: r.op, started: now })
          }
        }
        nextMessage(message)
      }).build()))
      .withSendMessage((message: unknown, next) => {
        if (Array.isArray(message)) {
          const now = performance.now()
          for (const r of message as Array<{ id?: unknown; body?: unknown }>) {
            const p = typeof r?.id === 'number' ? pending.get(r.id) : undefined
            if (!p) continue
            pending.delete(r.id as number)
            observe({ op: p.op, durationMs: now - p.started, code: codeOf(r.body) })
          }
        }
        next(message)
      })
      .build(),
  )
}
