// The gRPC service between nodes, defined in code (no .proto): two methods whose messages are
// the frame codec's bytes.
//
//   Frames   (bidi stream)    client → server: one or more encoded frames back to back per
//                              message. The server sends response metadata as soon as the
//                              stream is accepted (the client's "connected" signal) and never
//                              sends messages.
//   Snapshot (client stream)  first message: an encoded SnapshotHeader; then raw data chunks
//                              totalling header.dataLength bytes. Empty response on success.

import type * as grpc from '@grpc/grpc-js'

import { decodeFrames } from './frame-codec.js'
import type { RaftFrame } from './transport.js'
import { TransportError } from './transport-error.js'

/** Full method path of the frame stream. */
export const FRAMES_METHOD_PATH = '/mrdb.raft.v1.RaftTransport/Frames'
/** Full method path of the snapshot upload. */
export const SNAPSHOT_METHOD_PATH = '/mrdb.raft.v1.RaftTransport/Snapshot'

/**
 * What one Frames message decodes to on the server: the frames, or the reason the whole
 * message was rejected. The deserializer never throws, so a bad message is logged and
 * dropped by the handler instead of tearing down the stream.
 */
export type DecodedFrames = RaftFrame[] | TransportError

const EMPTY_BUFFER = Buffer.alloc(0)

/** Wraps bytes as a Buffer without copying (what grpc-js wants from a serializer). */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

function emptyMessage(): Buffer {
  return EMPTY_BUFFER
}

function identity(bytes: Buffer): Buffer {
  return bytes
}

/** The server-side definition; `maxFrameBytes` bounds one Frames message. */
export function raftTransportService(maxFrameBytes: number) {
  return {
    frames: {
      path: FRAMES_METHOD_PATH,
      requestStream: true,
      responseStream: true,
      requestSerialize: asBuffer,
      requestDeserialize: (bytes: Buffer): DecodedFrames => {
        try {
          return decodeFrames(bytes, maxFrameBytes)
        } catch (e) {
          if (e instanceof TransportError) return e
          throw e
        }
      },
      responseSerialize: emptyMessage,
      responseDeserialize: identity,
    },
    snapshot: {
      path: SNAPSHOT_METHOD_PATH,
      requestStream: true,
      responseStream: false,
      requestSerialize: asBuffer,
      requestDeserialize: identity,
      responseSerialize: emptyMessage,
      responseDeserialize: identity,
    },
  } satisfies grpc.ServiceDefinition
}

/** Serializer for a client writing encoded frames (zero-copy). */
export const serializeFrames: (bytes: Uint8Array) => Buffer = asBuffer
/** Serializer for a client writing snapshot header and chunks (zero-copy). */
export const serializeSnapshotPart: (bytes: Uint8Array) => Buffer = asBuffer
/** Deserializer for the (empty) responses the client receives. */
export const deserializeResponse: (bytes: Buffer) => Buffer = identity
