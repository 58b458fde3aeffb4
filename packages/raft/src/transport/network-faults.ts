// Injected network partitions for fault-injection tests (`mrdb check`): a node's outbound
// gRPC calls go through an interceptor that consults the set of peer addresses the node
// may not reach. Blocking a pair of nodes on both sides cuts every path between them —
// Raft streams, snapshots, KV and admin calls — since each side only sends on its own
// calls. A call started towards a blocked address fails at once, as if no connection could
// be made (nothing was sent); a call already under way when its peer becomes blocked is
// cut off with UNAVAILABLE the next time it sends or receives, so whether its request
// arrived stays unknown to the caller, as with a real partition. (A message already on its
// way in when the cut comes is still delivered, just before the call fails.)

import { InterceptingCall, Metadata, status, type Interceptor, type Requester } from '@grpc/grpc-js'

/** The detail of a refused call; grpc-js words a connection that never came up the same way. */
export const PARTITIONED_DETAILS = 'No connection established: the network to this peer is partitioned (fault injection)'

/** One node's switchboard of blocked peer addresses; see the file comment. */
export class NetworkFaults {
  private blocked = new Set<string>()

  /** Replaces the set of addresses this node cannot reach (empty: heals every partition). */
  setBlocked(addresses: Iterable<string>): void {
    this.blocked = new Set(addresses)
  }

  /** The addresses this node cannot reach now. */
  blockedAddresses(): string[] {
    return [...this.blocked].sort()
  }

  /** Whether calls to `address` are cut off now. */
  isBlocked(address: string): boolean {
    return this.blocked.has(address)
  }

  /** A client interceptor for a channel to `address` that enforces the partition. */
  interceptor(address: string): Interceptor {
    return (options, nextCall) => {
      let refused = false
      const call: InterceptingCall = new InterceptingCall(nextCall(options), {
        start: (metadata, listener, next) => {
          if (this.isBlocked(address)) {
            refused = true
            // Answered on a later turn, as a real connection failure would be.
            setImmediate(() => listener.onReceiveStatus?.({ code: status.UNAVAILABLE, details: PARTITIONED_DETAILS, metadata: new Metadata() }))
            return
          }
          next(metadata, {
            onReceiveMessage: (message: unknown, nextMessage: (message: unknown) => void) => {
              // Cut off, but the message still passes: grpc-js holds a call's status back until
              // the message in hand is passed on, so a dropped one would leave the call open
              // forever, neither answering nor failing.
              if (this.isBlocked(address)) call.cancelWithStatus(status.UNAVAILABLE, `the network to ${address} became partitioned (fault injection)`)
              nextMessage(message)
            },
          })
        },
        sendMessage: (message: unknown, next) => {
          if (refused) return
          if (this.isBlocked(address)) call.cancelWithStatus(status.UNAVAILABLE, `the network to ${address} became partitioned (fault injection)`)
          else next(message)
        },
        halfClose: (next) => {
          if (!refused) next()
        },
      } satisfies Requester)
      return call
    }
  }
}
