// The state machine of an online schema change (F1, "Online, Asynchronous Schema Change in
// F1", Rae et al., VLDB 2013), as pure functions over table descriptors.
//
// A column or index being added goes   delete-only → write-only → backfill → public;
// one being dropped goes       public → write-only → delete-only → removed.
// Every arrow is one committed descriptor change (the table's `version` goes up by one), and
// a writing transaction commits only while the table is at most one version past the one it
// planned with (StatementContext.noteWrite), so no two writers are more than one state
// apart. Adjacent states are compatible:
//   - delete-only: writers delete the index entries (or column values) of rows they delete
//     or update, and write none. A writer that knows nothing of the index yet writes none
//     either, so no entry can be left pointing at a deleted row.
//   - write-only: writers keep entries (and the column's default) up to date; readers do not
//     use them. Writers one state behind (delete-only) may still write rows without entries.
//   - backfill: as write-only for writers. Entered only once no delete-only writer can commit
//     any more, so the backfill, whose snapshots all come after this state, sees every row
//     a writer without entries wrote; rows written after that get their entries from writers.
//   - public: readers use it.
// Mutation columns and indexes live in `TableDesc.mutations`, so everything that reads
// `columns` and `indexes` sees only public ones. Writers see the *extended* row: the public
// columns, then the mutation columns in mutation order ({@link writeView}).

import type { ColumnDesc, IndexDesc, Mutation, MutationState, TableDesc } from './catalog.js'
import { fail, SqlState } from './errors.js'
import type { SqlValue } from './values.js'

/** What comes after `state` for a mutation going in `direction`: another state, or the end. */
export function nextState(direction: 'add' | 'drop', state: MutationState): MutationState | 'public' | 'removed' {
  if (direction === 'add') return state === 'delete-only' ? 'write-only' : state === 'write-only' ? 'backfill' : 'public'
  return state === 'write-only' ? 'delete-only' : 'removed'
}

/** The first state of a mutation: an addition starts delete-only, a drop (from public) write-only. */
export function firstState(direction: 'add' | 'drop'): MutationState {
  return direction === 'add' ? 'delete-only' : 'write-only'
}

/** Whether writers in `state` write index entries (and mutation column values). */
export function writesEntries(state: MutationState): boolean {
  return state !== 'delete-only'
}

/** The id of the column at `position` of `columns` (a table never altered has none: position plus one). */
export function columnId(column: ColumnDesc, position: number): number {
  return column.id ?? position + 1
}

/** The columns writers see: the public ones, then the mutation columns in mutation order. */
export function extendedColumns(table: TableDesc): ColumnDesc[] {
  const out = [...table.columns]
  for (const m of table.mutations ?? []) if (m.kind === 'column') out.push(m.column)
  return out
}

/** The column ids of the row-value layout (0 marks a dropped column's place). */
export function storageIds(table: TableDesc): readonly number[] {
  if (table.storage !== undefined) return table.storage
  const pk = new Set(table.primaryKey)
  return table.columns.map((c, i) => ({ c, i })).filter(({ i }) => !pk.has(i)).map(({ c, i }) => columnId(c, i))
}

/**
 * `table` with every implicit field made explicit (column ids, the next column id, the
 * storage layout, the version, mutations): what a schema change starts from.
 */
export function normalize(table: TableDesc): TableDesc & { readonly version: number; readonly mutations: readonly Mutation[]; readonly nextColumnId: number; readonly storage: readonly number[] } {
  const storage = storageIds(table)
  const columns = table.columns.map((c, i) => (c.id === undefined ? { ...c, id: i + 1 } : c))
  const ids = [...columns.map((c) => c.id!), ...(table.mutations ?? []).flatMap((m) => (m.kind === 'column' ? [m.column.id ?? 0] : []))]
  return {
    ...table,
    columns,
    storage,
    version: table.version ?? 0,
    mutations: table.mutations ?? [],
    nextColumnId: table.nextColumnId ?? Math.max(0, ...ids, ...storage) + 1,
  }
}

/**
 * Rebuilds a descriptor whose column lists changed: `indexes`, the mutation indexes and the
 * primary key hold positions in `before` (an extended column list); they are moved to the
 * new extended layout (`columns`, then `mutations`' columns).
 */
function relayout(table: TableDesc, before: readonly ColumnDesc[], columns: ColumnDesc[], indexes: IndexDesc[], mutations: Mutation[]): TableDesc {
  const after = [...columns, ...mutations.flatMap((m) => (m.kind === 'column' ? [m.column] : []))]
  const moved = (positions: readonly number[]): number[] =>
    positions.map((p) => {
      const to = after.findIndex((c) => c.id === before[p]!.id)
      if (to < 0) fail(SqlState.INTERNAL_ERROR, `schema change left an index on a removed column of "${table.name}"`)
      return to
    })
  return {
    ...table,
    columns,
    primaryKey: moved(table.primaryKey),
    indexes: indexes.map((i) => ({ ...i, columns: moved(i.columns) })),
    mutations: mutations.map((m) => (m.kind === 'index' ? { ...m, index: { ...m.index, columns: moved(m.index.columns) } } : m)),
  }
}

/** The table with a new column on its way in (delete-only), laid out after every stored column. */
export function startAddColumn(table: TableDesc, column: Omit<ColumnDesc, 'id'>, jobId: number): TableDesc {
  const t = normalize(table)
  const id = t.nextColumnId
  const mutation: Mutation = { kind: 'column', direction: 'add', state: firstState('add'), jobId, column: { ...column, id } }
  return { ...t, nextColumnId: id + 1, storage: [...t.storage, id], mutations: [...t.mutations, mutation], version: t.version + 1 }
}

/** The table with a new index (positions in its public columns) on its way in (delete-only). */
export function startAddIndex(table: TableDesc, index: IndexDesc, jobId: number): TableDesc {
  const t = normalize(table)
  const before = extendedColumns(t)
  // Public column positions are the same in the extended row; mutation columns follow them.
  const mutations: Mutation[] = [...t.mutations, { kind: 'index', direction: 'add', state: firstState('add'), jobId, index }]
  return { ...relayout(t, before, [...t.columns], [...t.indexes], mutations), version: t.version + 1 }
}

/** The table with an index on its way out (write-only). */
export function startDropIndex(table: TableDesc, name: string, jobId: number): TableDesc {
  const t = normalize(table)
  const index = t.indexes.find((i) => i.name === name)
  if (index === undefined) fail(SqlState.UNDEFINED_OBJECT, `index "${name}" does not exist`)
  const before = extendedColumns(t)
  const mutations: Mutation[] = [...t.mutations, { kind: 'index', direction: 'drop', state: firstState('drop'), jobId, index }]
  return { ...relayout(t, before, [...t.columns], t.indexes.filter((i) => i !== index), mutations), version: t.version + 1 }
}

/** The table with a column, and every index using it, on their way out (write-only). */
export function startDropColumn(table: TableDesc, name: string, jobId: number): TableDesc {
  const t = normalize(table)
  const position = t.columns.findIndex((c) => c.name === name && !c.hidden)
  if (position < 0) fail(SqlState.UNDEFINED_COLUMN, `column "${name}" of relation "${t.name}" does not exist`)
  if (t.primaryKey.includes(position)) fail(SqlState.FEATURE_NOT_SUPPORTED, `dropping primary key column "${name}" is not supported`)
  if (t.columns.filter((c) => !c.hidden).length === 1) fail(SqlState.FEATURE_NOT_SUPPORTED, `dropping the only column of "${t.name}" is not supported`)
  const before = extendedColumns(t)
  const dependent = t.indexes.filter((i) => i.columns.includes(position))
  const mutations: Mutation[] = [
    ...t.mutations,
    { kind: 'column', direction: 'drop', state: firstState('drop'), jobId, column: t.columns[position]! },
    ...dependent.map((index): Mutation => ({ kind: 'index', direction: 'drop', state: firstState('drop'), jobId, index })),
  ]
  const columns = t.columns.filter((_, i) => i !== position)
  const indexes = t.indexes.filter((i) => !dependent.includes(i))
  return { ...relayout(t, before, columns, indexes, mutations), version: t.version + 1 }
}

/**
 * Moves every mutation of `jobId` one state on (see the file comment): columns and indexes
 * that reach public join the table's lists; removed ones leave it (a removed column's place
 * in the row layout becomes a hole). Returns the table unchanged when the job has none.
 */
export function advance(table: TableDesc, jobId: number): TableDesc {
  const t = normalize(table)
  if (!t.mutations.some((m) => m.jobId === jobId)) return table
  const before = extendedColumns(t)
  const columns = [...t.columns]
  const indexes = [...t.indexes]
  const mutations: Mutation[] = []
  const removed = new Set<number>()
  for (const m of t.mutations) {
    if (m.jobId !== jobId) {
      mutations.push(m)
      continue
    }
    const next = nextState(m.direction, m.state)
    if (next === 'public') {
      if (m.kind === 'column') columns.push(m.column)
      else indexes.push(m.index)
    } else if (next === 'removed') {
      if (m.kind === 'column') removed.add(m.column.id!)
    } else mutations.push({ ...m, state: next })
  }
  const out = relayout(t, before, columns, indexes, mutations)
  return { ...out, storage: t.storage.map((id) => (removed.has(id) ? 0 : id)), version: t.version + 1 }
}

/**
 * Turns the additions of `jobId` into drops from the state they reached (a failed backfill
 * rolls back this way): backfill and write-only go on as write-only drops, delete-only as a
 * delete-only drop. Changes no state, so it rides with the next {@link advance}.
 */
export function reverse(table: TableDesc, jobId: number): TableDesc {
  const t = normalize(table)
  const mutations = t.mutations.map((m): Mutation => {
    if (m.jobId !== jobId || m.direction === 'drop') return m
    return { ...m, direction: 'drop', state: m.state === 'delete-only' ? 'delete-only' : 'write-only' }
  })
  return { ...t, mutations }
}

/** The state the mutations of `jobId` are in (they move together), or null when it has none. */
export function jobState(table: TableDesc, jobId: number): { direction: 'add' | 'drop'; state: MutationState } | null {
  const m = (table.mutations ?? []).find((x) => x.jobId === jobId)
  return m === undefined ? null : { direction: m.direction, state: m.state }
}

/** How writers see a table: see {@link writeView}. */
export interface WriteView {
  /** The table with its extended columns and every index writers keep entries in (public, write-only, backfill). */
  readonly table: TableDesc
  /** Indexes whose entries writers only delete. */
  readonly deleteOnly: readonly IndexDesc[]
  /** The values of the mutation columns in a new row, after the public columns. */
  readonly newValues: readonly SqlValue[]
  /** Whether the table has no mutations (then `table` is the table itself). */
  readonly plain: boolean
}

const views = new WeakMap<TableDesc, WriteView>()

/** The {@link WriteView} of a table (cached per descriptor object). */
export function writeView(table: TableDesc): WriteView {
  let view = views.get(table)
  if (view !== undefined) return view
  const mutations = table.mutations ?? []
  if (mutations.length === 0) view = { table, deleteOnly: [], newValues: [], plain: true }
  else {
    const extra = mutations.flatMap((m) => (m.kind === 'column' ? [m] : []))
    view = {
      table: {
        ...table,
        columns: [...table.columns, ...extra.map((m) => ({ ...m.column, hidden: true, nullable: true }))],
        indexes: [...table.indexes, ...mutations.flatMap((m) => (m.kind === 'index' && writesEntries(m.state) ? [m.index] : []))],
      },
      deleteOnly: mutations.flatMap((m) => (m.kind === 'index' && !writesEntries(m.state) ? [m.index] : [])),
      newValues: extra.map((m) => (writesEntries(m.state) ? m.column.defaultValue : null)),
      plain: false,
    }
  }
  views.set(table, view)
  return view
}

/** `row` (public columns, or already extended) extended with the new-row values of the mutation columns. */
export function extendRow(view: WriteView, row: readonly SqlValue[]): SqlValue[] {
  const width = view.table.columns.length
  if (row.length >= width) return row.slice(0, width)
  const publicWidth = width - view.newValues.length
  return [...row.slice(0, publicWidth), ...view.newValues]
}
