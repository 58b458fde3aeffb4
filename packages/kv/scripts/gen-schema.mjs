// Writes src/api/kv-schema.ts, the JSON descriptor of proto/kv.proto that the KV codec loads
// (protobufjs reflection: no parser at run time, nothing generated at build time, so a fresh
// clone builds offline with tsc alone). Run after editing kv.proto:
//   pnpm --filter @mrdb/kv gen:schema
// src/api/kv-schema.test.ts fails while the two disagree.
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import protobuf from 'protobufjs'

const proto = fileURLToPath(new URL('../proto/kv.proto', import.meta.url))
const out = fileURLToPath(new URL('../src/api/kv-schema.ts', import.meta.url))
const json = protobuf.loadSync(proto).toJSON()
writeFileSync(
  out,
  `// Generated from proto/kv.proto by scripts/gen-schema.mjs — do not edit; edit kv.proto and rerun it.

import type { INamespace } from 'protobufjs'

/** The JSON descriptor of proto/kv.proto (protobufjs reflection). */
export const KV_SCHEMA: INamespace = ${JSON.stringify(json, null, 2)}
`,
)
