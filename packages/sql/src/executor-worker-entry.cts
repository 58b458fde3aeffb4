// The executor pool's task file as piscina loads it. Piscina's worker threads load a task
// file with require(), and Node 20 loads an ES module that way synchronously (require(esm)):
// a worker stopped during that load — a pool closed just after it started — aborts the whole
// process (V8: "IsGraphAsync must be used on an instantiated module", seen in a test run). So
// the task file is this CommonJS module, and it imports the worker's ES module asynchronously.

import type { WorkerAnswer, WorkerTask } from './executor-worker.js'

const worker = import('./executor-worker.js')
worker.catch(() => undefined) // a failed load reaches every task through its own await

/** Runs one task on the worker's ES module (see executor-worker.ts). */
export = async function run(task: WorkerTask): Promise<WorkerAnswer> {
  return (await worker).default(task)
}
