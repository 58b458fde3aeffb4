// The shape of every admin and PD handler on a node: check the request, run the call, answer
// with its result or with an error body carrying a code; never a gRPC error, never a stack
// trace.

import type { ServerUnaryCall, sendUnaryData } from '@grpc/grpc-js'
import { KvError } from '@mrdb/kv'
import { adminError } from './errors.js'

/**
 * A unary gRPC handler: `check` turns the untrusted body into a request (or throws
 * INVALID_ARGUMENT), then `fn` runs on it; failures of either become `{ error }` bodies.
 */
export function admin<Req, Res>(check: (body: unknown) => Req, fn: (req: Req) => Promise<Res>) {
  return (call: ServerUnaryCall<unknown, Res>, callback: sendUnaryData<Res>): void => {
    const fail = (err: unknown) => callback(null, { error: adminError(err) } as Res)
    let req: Req
    try {
      // A KvError in place of the body: it did not decode (see decodeRequestBody).
      if (call.request instanceof KvError) throw call.request
      req = check(call.request)
    } catch (err) {
      fail(err)
      return
    }
    fn(req).then((res) => callback(null, res), fail)
  }
}
