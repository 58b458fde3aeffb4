// @mrdb/chaos: fault injection against a real cluster and the checkers that judge it.

export type { Anomaly, BankRead, Outcome, RegisterOp, RegisterValue, SetAdd } from './history.js'
export { describeRegisterOp } from './history.js'
export { checkRegister, checkRegisters } from './linearizability.js'
export type { CheckOptions, LinearizabilityResult } from './linearizability.js'
export { checkBank } from './bank-checker.js'
export type { BankSpec } from './bank-checker.js'
export { checkSet } from './set-checker.js'
export type { SetVerdict } from './set-checker.js'
