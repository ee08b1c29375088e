/** How the columns of a table changed between two versions of it. */
import type {Column} from './engine.js'

export interface Retyped {
  column: string
  old: string
  new: string
}

/** A column as a schema change names it. */
export interface ColumnRef {
  column: string
  type: string
}

export interface SchemaChange {
  added: ColumnRef[]
  dropped: ColumnRef[]
  retyped: Retyped[]
}

const ref = (c: Column): ColumnRef => ({column: c.name, type: c.type})

/** Columns only in `after` (added), only in `before` (dropped), and in both under another type. */
export function schemaChange(before: readonly Column[], after: readonly Column[]): SchemaChange {
  const old = new Map(before.map((c) => [c.name, c.type]))
  const now = new Map(after.map((c) => [c.name, c.type]))
  return {
    added: after.filter((c) => !old.has(c.name)).map(ref),
    dropped: before.filter((c) => !now.has(c.name)).map(ref),
    retyped: after.filter((c) => old.has(c.name) && old.get(c.name) !== c.type).map((c) => ({column: c.name, old: old.get(c.name) as string, new: c.type})),
  }
}

export const schemaChanged = (s: SchemaChange) => s.added.length + s.dropped.length + s.retyped.length > 0
