import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { test } from 'node:test'
import { SeededRandom } from '@mrdb/storage/testing'
import type { Statement } from './ast.js'
import { instantiate, literalTemplate } from './literal-template.js'
import { parseSql, StatementCache } from './parse.js'
import { RandomExpr } from './testing/random-expr.js'
import { SLT_DIR } from './testing/slt-runner.js'

/** The SQL of every `statement` and `query` record of a sqllogictest file. */
function sltStatements(text: string): string[] {
  const out: string[] = []
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    if (!/^(statement|query)\b/.test(lines[i]!)) continue
    const sql: string[] = []
    for (i++; i < lines.length && lines[i]!.trim() !== '' && lines[i] !== '----'; i++) sql.push(lines[i]!)
    if (sql.length > 0) out.push(sql.join('\n'))
  }
  return out
}

/** What parsing `sql` gives: the statements, or the error's code and message. */
function outcome(parse: () => readonly Statement[]): { statements: readonly Statement[] } | { code: unknown; message: string } {
  try {
    return { statements: parse() }
  } catch (e) {
    return { code: (e as { code?: unknown }).code, message: (e as Error).message }
  }
}

/** `sql` with each templated literal changed (integers n → n+1 or 0, strings get a letter more). */
function sibling(sql: string): string | null {
  const template = literalTemplate(sql)
  if (template === null) return null
  let slot = 0
  return template.text.replace(/\b98765\d{4}\b|'\u0001\d+'/g, () => {
    const v = template.values[slot++]!
    return typeof v === 'bigint' ? String(v >= 99_999_999n ? 0n : v + 1n) : `'${`${v}q`.replaceAll("'", "''")}'`
  })
}

/**
 * The property the parse cache rests on: for a statement, the cache — its template learnt from
 * a sibling with other literals — gives exactly what a direct parse gives, tree or error.
 */
function checkAgainstDirect(statements: readonly string[]): { checked: number; fromTemplate: number } {
  let fromTemplate = 0
  for (const sql of statements) {
    const cache = new StatementCache()
    const other = sibling(sql)
    if (other !== null) outcome(() => cache.parse(other))
    const before = cache.templateHits
    const cached = outcome(() => cache.parse(sql))
    fromTemplate += cache.templateHits - before
    assert.deepStrictEqual(cached, outcome(() => parseSql(sql)), `the parse cache differs from a direct parse of:\n${sql}\n(template learnt from:\n${other})`)
  }
  return { checked: statements.length, fromTemplate }
}

test('templates: literals become slots; quoted names, comments, words and non-plain literals stay', () => {
  assert.deepEqual(literalTemplate(`SELECT t1.a, "x 5", 'its', 'it''s' FROM t1 WHERE a = 42 AND b = 3.5 -- 7\nLIMIT 10`), {
    text: `SELECT t1.a, "x 5", '\u00010', 'it''s' FROM t1 WHERE a = 987650001 AND b = 3.5 -- 7\nLIMIT 987650002`,
    values: ['its', 42n, 10n],
  })
  // A ten-digit integer and an exponent stay in the text; a string naming a word parse.ts looks for too.
  assert.deepEqual(literalTemplate(`SELECT 1234567890, 1e3, 'x returning y', 7`), { text: `SELECT 1234567890, 1e3, 'x returning y', 987650000`, values: [7n] })
  for (const unread of [`SELECT E'a'`, `SELECT 'a\\b', 1`, `SELECT $1 + 2`, `SELECT $$x$$, 1`, `SELECT /* 1 */ 2`, `SELECT 0x1f`, `SELECT 1_000`, `SELECT 'open`, `SELECT '\u0001', 1`, `SELECT a FROM t`]) {
    assert.equal(literalTemplate(unread), null, unread)
  }
})

test('literals whose position gives them meaning either round-trip exactly or make the statement bypass the template', () => {
  const forms = [
    'SELECT CAST(a AS VARCHAR(10)) FROM t WHERE id = 1',
    'CREATE TABLE n (a NUMERIC(10, 2), b VARCHAR(3) DEFAULT 7)',
    "SELECT a FROM t WHERE d > DATE '2020-01-01' AND id = 3",
    "SELECT a + INTERVAL '1 day' FROM t WHERE id = 3",
    'SELECT a FROM t WHERE a = -5',
    'SELECT a, count(*) FROM t GROUP BY 1 ORDER BY 2 DESC LIMIT 5 OFFSET 2',
    'SELECT (ARRAY[10, 20, 30])[2]',
    "SELECT string_agg(s, ',') FROM t",
    "SET application_name = 'x'",
    "SELECT '5'::INT + 1",
    'SELECT a FROM t WHERE a BETWEEN 1 AND 9',
    "INSERT INTO t (id, s) VALUES (1, 'a') ON CONFLICT (id) DO UPDATE SET s = 'b'",
  ]
  let bypassed = 0
  for (const sql of forms) {
    const template = literalTemplate(sql)!
    assert.notEqual(template, null, sql)
    const direct = outcome(() => parseSql(sql))
    const fromTemplate = outcome(() => parseSql(template.text))
    const instance = 'statements' in fromTemplate ? instantiate(fromTemplate.statements, template.values) : null
    if (instance === null || !('statements' in direct)) {
      bypassed++
    } else {
      // Not null: either it is the direct tree (the literal is a plain literal node there too), or the cache must refuse it.
      const same = JSON.stringify(instance, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)) === JSON.stringify(direct.statements, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))
      if (!same) bypassed++
    }
    // Whatever the template does, the cache answers with the direct parse, twice (learning, then using).
    const cache = new StatementCache()
    assert.deepStrictEqual(outcome(() => cache.parse(sql)), direct, sql)
    assert.deepStrictEqual(outcome(() => cache.parse(sibling(sql)!)), outcome(() => parseSql(sibling(sql)!)), sql)
  }
  // VARCHAR(10), NUMERIC(10, 2), DATE '…', INTERVAL '…', -5 and string_agg's ',' and SET's value cannot stand as slots.
  assert.ok(bypassed >= 7, `only ${bypassed} forms bypass the template`)
})

test('the parse cache gives a direct parse’s tree or error for every statement of the sqllogictest files', () => {
  const statements = readdirSync(SLT_DIR)
    .filter((f) => f.endsWith('.slt'))
    .sort()
    .flatMap((f) => sltStatements(readFileSync(SLT_DIR + f, 'utf8')))
  const { checked, fromTemplate } = checkAgainstDirect(statements)
  assert.ok(checked > 700, `only ${checked} statements`)
  assert.ok(fromTemplate > 200, `only ${fromTemplate} of ${checked} statements came from a template`)
})

test('the parse cache gives a direct parse’s tree or error for the sqllogictest corpus (every 8th statement) and random statements', () => {
  const corpus = readFileSync(`${SLT_DIR}corpus/select1.test`, 'utf8')
  const statements = sltStatements(corpus).filter((_s, i) => i % 8 === 0)
  const seed = Number(process.env.TEMPLATE_SEED ?? Date.now() % 1_000_000)
  console.log(`parse cache seed ${seed} (replay: TEMPLATE_SEED=${seed} node scripts/run-tests.mjs literal-template)`)
  const rng = new SeededRandom(seed)
  const gen = new RandomExpr(rng, { int: ['a', 'b'], text: ['s'], bool: ['f'] })
  for (let i = 0; i < 150; i++) {
    statements.push(`SELECT ${gen.int(3)}, s || 'x${i}' FROM t WHERE ${gen.bool(3)} ORDER BY ${1 + rng.int(2)} LIMIT ${rng.int(50)}`)
    statements.push(`UPDATE t SET a = ${gen.int(2)}, s = 'v${i}' WHERE ${gen.bool(2)}`)
  }
  const { checked, fromTemplate } = checkAgainstDirect(statements)
  assert.ok(fromTemplate > checked / 2, `only ${fromTemplate} of ${checked} statements came from a template`)
})

test('through the executor pool: a new template is parsed after its statement is answered, then serves the next literals', async () => {
  const cache = new StatementCache()
  const parsed: string[] = []
  const elsewhere = async (sql: string) => {
    parsed.push(sql)
    return parseSql(sql)
  }
  assert.deepStrictEqual(await cache.parseWith('SELECT v FROM t WHERE id = 1', elsewhere), parseSql('SELECT v FROM t WHERE id = 1'))
  await new Promise((resolve) => setImmediate(resolve)) // the template's parse settles
  assert.deepEqual(parsed, ['SELECT v FROM t WHERE id = 1', 'SELECT v FROM t WHERE id = 987650000'])
  assert.deepStrictEqual(await cache.parseWith('SELECT v FROM t WHERE id = 2', elsewhere), parseSql('SELECT v FROM t WHERE id = 2'))
  assert.equal(parsed.length, 2)
  assert.equal(cache.templateHits, 1)
  assert.equal(cache.parses, 2) // the first statement and its template; the second cost none
  // Errors still come from the direct parse.
  await assert.rejects(cache.parseWith('SELECT v FROM t WHERE id = 3 +', elsewhere), { code: '42601' })
})
