#!/usr/bin/env node
// mrdb — the command line's entry point.

import { reportError } from './output.js'
import { buildProgram } from './program.js'

try {
  await buildProgram().parseAsync(process.argv)
} catch (err) {
  reportError(err)
}
