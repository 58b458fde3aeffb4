// What clients did during a chaos run, as they saw it: each operation with the times it was
// invoked and answered (milliseconds on one monotonic clock, in the process that ran every
// client) and its outcome. An outcome is `ok` (the client got an answer), `fail` (it
// certainly had no effect: the database said so) or `unknown` (a timeout, a broken
// connection: it may or may not have taken effect, at any time after its invocation).

/** How an operation ended, as its client saw it; see the file comment. */
export type Outcome = 'ok' | 'fail' | 'unknown'

/** A value of a register; `null` is "no value" (the key is absent). */
export type RegisterValue = string | null

/** One operation on one register (a single key). */
export interface RegisterOp {
  /** The logical client that ran it; a client runs one operation at a time. */
  client: number
  key: string
  kind: 'read' | 'write' | 'cas'
  /** A read's result (when ok); the value a write or compare-and-swap stores. */
  value: RegisterValue
  /** The value a compare-and-swap expects. */
  expected?: RegisterValue
  /** For an ok compare-and-swap: whether it swapped (false: the register held something else). */
  swapped?: boolean
  /** For a compare-and-swap that did not swap: what the register held, when the database said. */
  observed?: RegisterValue
  outcome: Outcome
  invokeMs: number
  completeMs: number
  /** The error an operation that did not end ok got. */
  error?: string
}

/** One read of every bank account, in one snapshot. */
export interface BankRead {
  client: number
  invokeMs: number
  completeMs: number
  /** Balance by account id. */
  balances: Map<number, bigint>
}

/** One attempt to add an element to the set. */
export interface SetAdd {
  client: number
  element: number
  outcome: Outcome
  error?: string
}

/** An anomaly a checker found: what broke and the evidence. */
export interface Anomaly {
  /** Which check: `linearizability`, `bank` or `set`. */
  checker: string
  /** One line: what is wrong. */
  message: string
  /** The operations that show it, as readable lines. */
  evidence: string[]
}

/** A register operation as one readable line. */
export function describeRegisterOp(op: RegisterOp): string {
  const v = (x: RegisterValue | undefined) => (x === null || x === undefined ? 'nil' : x)
  const what =
    op.kind === 'read'
      ? `read → ${op.outcome === 'ok' ? v(op.value) : '?'}`
      : op.kind === 'write'
        ? `write ${v(op.value)}`
        : `cas ${v(op.expected)}→${v(op.value)}${op.outcome === 'ok' ? (op.swapped ? ' swapped' : ` found ${op.observed === undefined ? 'another' : v(op.observed)}`) : ''}`
  const end = op.outcome === 'unknown' ? '…' : op.completeMs.toFixed(1)
  return `client ${op.client} ${op.key}: ${what} [${op.invokeMs.toFixed(1)}, ${end}] ${op.outcome}${op.error ? ` (${op.error})` : ''}`
}
