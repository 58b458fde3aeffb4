// The gateway's schema lease: a catalog read current at some snapshot may be used to plan
// later statements, without reading the catalog version again, for a short time — the
// lease — measured on this process's monotonic clock (CockroachDB's and F1's descriptor
// leases, with time instead of lease records).
//
// The rules (docs/decisions.md, "Schema leases"), with L the lease and W = L stretched by the
// clock-rate margin:
//   - A transaction whose begin() was called at local time t0 and that read catalog version v
//     at its snapshot s gives a lease on v until t0 + L. A later statement may plan with v
//     when its own snapshot is at or above s and its begin() resolved before t0 + L.
//   - A transaction that changes the catalog version commits only after W has passed since
//     its begin() resolved; a schema change statement returns only W after its last commit.
// Why it is safe: s was handed out by the oracle after t0 and before version v + 1's commit
// timestamp. A transaction publishing v + 2 saw v + 1 at its snapshot, which the oracle
// handed out after v + 1's commit timestamp and before that transaction's begin() resolved,
// and it commits only W later — after every lease on v ended. So a statement planned with v
// reads a snapshot whose catalog is v or v + 1, never two versions on: F1's invariant for
// readers. Writers are held to it by the commit-time check of StatementContext.writeView.
// Only clock *rates* must agree (within the margin), never their readings.

import type { Catalog } from './catalog.js'

/** Options of the schema lease. */
export interface SchemaLeaseOptions {
  /** How long a validated catalog may plan statements, ms; 0 reads the version in every statement (no waits). */
  readonly durationMs: number
  /** A monotonic clock in ms (default `performance.now`). */
  readonly now?: () => number
  /** Resolves after about `ms` milliseconds, never earlier by `now` (default: a timer). */
  readonly sleep?: (ms: number) => Promise<void>
}

/** How much faster one process's clock may run than another's: W = L × (1 + margin). */
export const CLOCK_RATE_MARGIN = 0.05

/** When a transaction asked for its snapshot and when it got it, on the lease clock. */
export interface BeginTimes {
  /** Local time when begin() was called: the snapshot was handed out after it. */
  readonly calledMs: number
  /** Local time when begin() resolved: the snapshot was handed out before it. */
  readonly resolvedMs: number
}

/** One gateway's lease; see the file comment. */
export class SchemaLease {
  /** The lease held: a catalog, the snapshot it was read current at, and its end on the local clock. */
  private held: { catalog: Catalog; validatedAt: bigint; expiresMs: number } | null = null
  private readonly durationMs: number
  private readonly sleep: (ms: number) => Promise<void>
  /** The lease clock, ms. */
  readonly now: () => number

  constructor(options: SchemaLeaseOptions) {
    if (!(options.durationMs >= 0)) throw new RangeError(`a schema lease must be 0 ms or more, not ${options.durationMs}`)
    this.durationMs = options.durationMs
    this.now = options.now ?? (() => performance.now())
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)))
  }

  /** How long a catalog-changing transaction waits (W): the lease stretched by {@link CLOCK_RATE_MARGIN}. */
  get waitMs(): number {
    return this.durationMs === 0 ? 0 : Math.ceil(this.durationMs * (1 + CLOCK_RATE_MARGIN)) + 1
  }

  /** The leased catalog a transaction at snapshot `startTs` that began at `times` may plan with, or null. */
  catalogFor(startTs: bigint, times: BeginTimes): Catalog | null {
    const held = this.held
    if (held === null || startTs < held.validatedAt || times.resolvedMs >= held.expiresMs) return null
    return held.catalog
  }

  /** Records that `catalog` is current at snapshot `startTs` of a transaction that began at `times`. */
  renew(catalog: Catalog, startTs: bigint, times: BeginTimes): void {
    if (this.durationMs === 0) return
    const expiresMs = times.calledMs + this.durationMs
    const held = this.held
    if (held !== null && held.catalog.version > catalog.version) return
    if (held !== null && held.catalog.version === catalog.version) {
      // The earliest snapshot and the latest end: both bounds hold for this version.
      this.held = { catalog: held.catalog, validatedAt: held.validatedAt < startTs ? held.validatedAt : startTs, expiresMs: Math.max(held.expiresMs, expiresMs) }
      return
    }
    this.held = { catalog, validatedAt: startTs, expiresMs }
  }

  /** Waits until W has passed since `resolvedMs`: a transaction that changes the catalog version then may commit. */
  async beforeCatalogCommit(times: BeginTimes): Promise<void> {
    await this.waitUntil(times.resolvedMs + this.waitMs)
  }

  /** Waits W from now: called once a catalog change committed, so that no gateway plans with an older catalog afterwards. */
  async afterCatalogCommit(): Promise<void> {
    await this.waitUntil(this.now() + this.waitMs)
  }

  private async waitUntil(deadlineMs: number): Promise<void> {
    if (this.durationMs === 0) return
    for (let left = deadlineMs - this.now(); left > 0; left = deadlineMs - this.now()) await this.sleep(left)
  }
}
