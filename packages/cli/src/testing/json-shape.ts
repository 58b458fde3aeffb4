// A small structural schema for JSON outputs, for tests: a shape names the type of every
// field, and a value must match it exactly — no missing field (unless its key ends in `?`),
// no field the shape does not know — so any change to a --json output shows up in a test.

/** A JSON value's expected shape; see the file comment. */
export type Shape =
  | 'string'
  | 'number'
  | 'boolean'
  | 'null'
  | 'any'
  | { readonly arrayOf: Shape }
  | { readonly oneOf: readonly Shape[] }
  | { readonly [key: string]: Shape }

/** Every way `value` differs from `shape` (empty when it matches), with the JSON path of each. */
export function shapeErrors(value: unknown, shape: Shape, path = '$'): string[] {
  if (typeof shape === 'string') {
    if (shape === 'any') return []
    const actual = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value
    return actual === shape ? [] : [`${path}: expected ${shape}, got ${actual}`]
  }
  if ('arrayOf' in shape && typeof shape.arrayOf !== 'undefined' && Object.keys(shape).length === 1) {
    if (!Array.isArray(value)) return [`${path}: expected an array`]
    return value.flatMap((v, i) => shapeErrors(v, shape.arrayOf as Shape, `${path}[${i}]`))
  }
  if ('oneOf' in shape && Array.isArray(shape.oneOf) && Object.keys(shape).length === 1) {
    const options = shape.oneOf as readonly Shape[]
    return options.some((s) => shapeErrors(value, s, path).length === 0) ? [] : [`${path}: matches none of ${JSON.stringify(options)}: ${JSON.stringify(value)}`]
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [`${path}: expected an object, got ${JSON.stringify(value)}`]
  const errors: string[] = []
  const fields = shape as { readonly [key: string]: Shape }
  const known = new Set<string>()
  for (const [key, s] of Object.entries(fields)) {
    const optional = key.endsWith('?')
    const name = optional ? key.slice(0, -1) : key
    known.add(name)
    if (!(name in value)) {
      if (!optional) errors.push(`${path}.${name}: missing`)
      continue
    }
    errors.push(...shapeErrors((value as Record<string, unknown>)[name], s, `${path}.${name}`))
  }
  for (const key of Object.keys(value)) if (!known.has(key)) errors.push(`${path}.${key}: not in the schema`)
  return errors
}
