import type { Client, MethodDefinition } from '@grpc/grpc-js'

/** Calls a unary method on `channel`, resolving with the response or rejecting with the gRPC error. */
export function unaryCall<Req, Res>(channel: Client, method: MethodDefinition<Req, Res>, request: Req, deadline: number): Promise<Res> {
  return new Promise((resolve, reject) => {
    channel.makeUnaryRequest(method.path, method.requestSerialize, method.responseDeserialize, request, { deadline }, (err, value) => {
      if (err || value === undefined) reject(err ?? new Error(`${method.path}: empty response`))
      else resolve(value)
    })
  })
}
