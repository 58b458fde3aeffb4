export type { KvDatabase, KvTransaction, KvPair, RangeSpan } from "./kv-port.js"
