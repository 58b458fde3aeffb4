// Array helpers shared by every package.

/**
 * Appends every element of `items` to `target` and returns `target`. Unlike
 * `target.push(...items)`, which passes them as call arguments and throws RangeError
 * (maximum call stack size exceeded) past about 125,000 of them, any number is fine.
 */
export function pushAll<T>(target: T[], items: readonly T[]): T[] {
  for (const item of items) target.push(item)
  return target
}
