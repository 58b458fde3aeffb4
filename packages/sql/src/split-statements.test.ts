import { test } from 'node:test'
import assert from 'node:assert/strict'
import { splitStatements } from './split-statements.js'

test('statements end at semicolons outside strings and comments', () => {
  const script = `CREATE TABLE t (a TEXT); -- a comment; with a semicolon
INSERT INTO t VALUES ('x;y'), ('it''s; fine'), ("q;"), (E'back\\'slash;');
/* block; comment */ SELECT * FROM t;
SELECT 1`
  assert.deepEqual(splitStatements(script), {
    statements: [
      'CREATE TABLE t (a TEXT)',
      `-- a comment; with a semicolon\nINSERT INTO t VALUES ('x;y'), ('it''s; fine'), ("q;"), (E'back\\'slash;')`,
      '/* block; comment */ SELECT * FROM t',
    ],
    rest: 'SELECT 1',
  })
  assert.deepEqual(splitStatements("SELECT 'unterminated; still open"), { statements: [], rest: "SELECT 'unterminated; still open" })
  assert.deepEqual(splitStatements(' ;; -- only a comment\n'), { statements: [], rest: '' })
})

test('a backslash is an ordinary character in a standard string and escapes only in an escape string', () => {
  assert.deepEqual(splitStatements("SELECT 'C:\\'; SELECT 1"), { statements: ["SELECT 'C:\\'"], rest: 'SELECT 1' })
  assert.deepEqual(splitStatements("SELECT e'\\'; x'; SELECT 1"), { statements: ["SELECT e'\\'; x'"], rest: 'SELECT 1' })
  assert.deepEqual(splitStatements("SELECT U&'\\'; x'; SELECT 1"), { statements: ["SELECT U&'\\'; x'"], rest: 'SELECT 1' })
  // A name ending in e is no prefix: its string is standard.
  assert.deepEqual(splitStatements("SELECT name'\\'; SELECT 1"), { statements: ["SELECT name'\\'"], rest: 'SELECT 1' })
})
