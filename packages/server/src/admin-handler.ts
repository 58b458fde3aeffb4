// The shape of every admin and PD handler on a node: run the call, answer with its result
// or with an error body carrying a code; never a gRPC error, never a stack trace.

import type { ServerUnaryCall, sendUnaryData } from '@grpc/grpc-js'
import { adminError } from './errors.js'

/** A unary gRPC handler running `fn` on the request; failures become `{ error }` bodies. */
export function admin<Req, Res>(fn: (req: Req) => Promise<Res>) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
    fn(call.request ?? ({} as Req)).then(
      (res) => callback(null, res),
      (err: unknown) => callback(null, { error: adminError(err) } as unknown as Res),
    )
  }
}
