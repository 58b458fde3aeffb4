import { test } from 'node:test'
import assert from 'node:assert/strict'
import { SessionSettings } from './settings.js'

test('session-level statements are answered whatever their case and whitespace; the engine gets every other one', () => {
  const s = new SessionSettings('alice', 'mrdb', 0, new Map())
  const rows = (sql: string) => s.answer(sql)?.result.rows
  assert.deepEqual(rows('select current_database()'), [['mrdb']])
  assert.deepEqual(rows(' \n\tSELECT\t CURRENT_DATABASE();  '), [['mrdb']])
  assert.deepEqual(rows('\uFEFFselect\r\nsession_user;'), [['alice']])
  assert.deepEqual(rows('SELECT  user'), [['alice']])
  assert.deepEqual(rows('select current_user()'), [['alice']])
  assert.deepEqual(rows('\tSHOW\n  timezone;'), [['UTC']])
  assert.equal(s.answer('set\tstatement_timeout\n=  250 ;')?.result.command, 'SET')
  assert.equal(s.statementTimeoutMs, 250)
  assert.equal(s.answer('Set Session application_name To \'x\'')?.report?.[1], 'x')
  for (const sql of ['SELECT id, v FROM t WHERE id = 1', 'select current_database() + 1', 'select users from t', 'showx', 'SHOW TABLES', 'settle', "INSERT INTO t VALUES (1, 'set x = 1')", 'select\tcurrent_user2'])
    assert.equal(s.answer(sql), undefined, sql)
})
