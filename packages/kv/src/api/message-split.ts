// Cutting a command stream's turn into messages that every receiver accepts. Requests queued in
// one event-loop turn (client side) and answers ready in one turn (node side) each go out as
// one gRPC message, and a turn can hold far more than one message may: gRPC refuses a message
// over its byte limit (64 MiB here: a handful of 8 MiB batches or 2 MiB scan pages), and the
// frame check (frame-check.ts) one over MAX_FRAME_VALUES values. So a turn is cut into runs
// whose estimated size stays well under both; one item alone always fits (a command is at
// most 8 MiB and its answer is bounded the same way).

/** Items in one message at most. */
export const MAX_MESSAGE_ITEMS = 512

/** Estimated bytes in one message at most: a quarter of the gRPC limit, so one more item of 8 MiB still fits. */
export const MAX_MESSAGE_PAYLOAD_BYTES = 16 * 1024 * 1024

/** Estimated values in one message at most: a quarter of the frame check's cap. */
export const MAX_MESSAGE_VALUES = 1024 * 1024

/** What an item costs a message: payload bytes and encoded values (fields), both over-estimated. */
export interface MessageCost {
  bytes: number
  values: number
}

/**
 * The cost of `value` as protobuf carries it: every byte string's and string's length plus a
 * few bytes of tag and length, and one value per field, array element and nested message.
 */
export function messageCost(value: unknown): MessageCost {
  const cost = { bytes: 0, values: 0 }
  addCost(value, cost)
  return cost
}

function addCost(value: unknown, cost: MessageCost): void {
  cost.values++
  if (value instanceof Uint8Array) cost.bytes += value.byteLength + 6
  else if (typeof value === 'string') cost.bytes += value.length * 3 + 6
  else if (Array.isArray(value)) for (const v of value) addCost(v, cost)
  else if (value !== null && typeof value === 'object') for (const v of Object.values(value)) addCost(v, cost)
  else cost.bytes += 11
}

/** `items` cut into consecutive runs, each within the limits above (a lone item over them travels alone). */
export function splitMessages<T>(items: readonly T[], costOf: (item: T) => MessageCost): T[][] {
  const runs: T[][] = []
  let run: T[] = []
  let bytes = 0
  let values = 0
  for (const item of items) {
    const c = costOf(item)
    if (run.length > 0 && (run.length >= MAX_MESSAGE_ITEMS || bytes + c.bytes > MAX_MESSAGE_PAYLOAD_BYTES || values + c.values > MAX_MESSAGE_VALUES)) {
      runs.push(run)
      run = []
      bytes = 0
      values = 0
    }
    run.push(item)
    bytes += c.bytes
    values += c.values
  }
  if (run.length > 0) runs.push(run)
  return runs
}
