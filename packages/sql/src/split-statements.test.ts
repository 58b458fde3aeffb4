import { test } from 'node:test'
import assert from 'node:assert/strict'
import { splitStatements } from './split-statements.js'

test('statements end at semicolons outside strings and comments', () => {
  const script = `CREATE TABLE t (a TEXT); -- a comment; with a semicolon
INSERT INTO t VALUES ('x;y'), ('it''s; fine'), ("q;"), ('back\\'slash;');
/* block; comment */ SELECT * FROM t;
SELECT 1`
  assert.deepEqual(splitStatements(script), {
    statements: [
      'CREATE TABLE t (a TEXT)',
      `-- a comment; with a semicolon\nINSERT INTO t VALUES ('x;y'), ('it''s; fine'), ("q;"), ('back\\'slash;')`,
      '/* block; comment */ SELECT * FROM t',
    ],
    rest: 'SELECT 1',
  })
  assert.deepEqual(splitStatements("SELECT 'unterminated; still open"), { statements: [], rest: "SELECT 'unterminated; still open" })
  assert.deepEqual(splitStatements(' ;; -- only a comment\n'), { statements: [], rest: '' })
})
