// The web console in a real browser (issue #17): Debian's headless Chromium, driven by
// puppeteer-core, opens node 1's console on a cluster of three node processes. The page
// shows three live stores, a range map with a leader on every range and charts that fill;
// a node killed with SIGKILL shows dead within 15 s (the PD judges a store dead after
// --store-dead-ms, set short here; a store whose heartbeats lag before that shows
// "suspect"). A screenshot is kept under test-artifacts/ at the repository root.
// Without a Chromium that launches, the test is skipped and says why.

import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import puppeteer, { type Browser, type Page } from 'puppeteer-core'
import { SqlClient } from '@mrdb/server'
import { ProcessCluster } from '../testing/process-cluster.js'

/** Debian's chromium (`apt-get install chromium`); MRDB_CHROMIUM names another. */
const CHROMIUM = process.env['MRDB_CHROMIUM'] ?? '/usr/bin/chromium'
/** test-artifacts/ at the repository root (this file runs from packages/cli/dist/e2e/). */
const ARTIFACTS = fileURLToPath(new URL('../../../../test-artifacts/', import.meta.url))
/** How long the page may take to show a killed node dead. */
const DEAD_WITHIN_MS = 15_000
/** The PD's store-dead time in this cluster: short, so the page can show a kill within DEAD_WITHIN_MS. */
const STORE_DEAD_MS = 4000

/** A headless Chromium, or why there is none. */
async function launch(): Promise<Browser | string> {
  if (!existsSync(CHROMIUM)) return `no Chromium at ${CHROMIUM} (apt-get install chromium, or set MRDB_CHROMIUM)`
  try {
    // headless: true makes puppeteer pass --headless=new.
    return await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'], timeout: 60_000 })
  } catch (err) {
    return `Chromium at ${CHROMIUM} did not launch: ${err instanceof Error ? err.message : String(err)}`
  }
}

/** Skips `t`, printing the reason where a person running the tests sees it. */
function skip(t: TestContext, reason: string): void {
  process.stderr.write(`console.test: SKIPPED: ${reason}\n`)
  t.skip(reason)
}

/** Waits in the page for `fn` (run in the page) to hold, naming `what` on a timeout. */
async function pageWaits(page: Page, what: string, fn: string, timeoutMs: number): Promise<void> {
  try {
    await page.waitForFunction(fn, { timeout: timeoutMs, polling: 100 })
  } catch (err) {
    const shown = await page.evaluate(`document.querySelector('#stores tbody').textContent + ' | ' + document.querySelector('#banner').textContent`).catch(() => '?')
    throw new Error(`the page did not show ${what} within ${timeoutMs} ms (it shows: ${String(shown)})`, { cause: err })
  }
}

test('the web console in headless Chromium: three live stores, the range map and charts, a killed node shown dead within 15 s', { timeout: 240_000 }, async (t) => {
  const browser = await launch()
  if (typeof browser === 'string') return skip(t, browser)
  let cluster: ProcessCluster | undefined
  let page: Page | undefined
  await mkdir(ARTIFACTS, { recursive: true })
  try {
    cluster = await ProcessCluster.start({ nodes: 3, ranges: 4, startArgs: ['--store-dead-ms', String(STORE_DEAD_MS)] })
    page = await browser.newPage()
    const pageErrors: string[] = []
    page.on('pageerror', (err) => pageErrors.push(err instanceof Error ? err.message : String(err)))
    await page.setViewport({ width: 1400, height: 1100 })
    const url = `http://${cluster.httpAddress(1)}/`
    const res = await page.goto(url, { waitUntil: 'load' })
    assert.equal(res?.status(), 200)
    assert.equal(await page.title(), 'mrdb console')

    await pageWaits(page, 'three live stores', `document.querySelectorAll('#stores tbody tr[data-liveness="live"]').length === 3`, 60_000)
    assert.equal(await page.$eval('#stores-live', (e) => e.textContent), '3 / 3')
    assert.equal(await page.$eval('#served-by', (e) => e.textContent), 'served by node 1')
    // Every node answers with the PD leader's view (two of them forward to it); a bad query is a 400 with a code.
    for (const id of [1, 2, 3]) {
      const view = (await (await fetch(`http://${cluster.httpAddress(id)}/api/cluster`)).json()) as { nodeId: number; stores: unknown[]; rangeCount: number }
      assert.deepEqual([view.nodeId, view.stores.length, view.rangeCount > 0], [id, 3, true])
    }
    const bad = await fetch(`http://${cluster.httpAddress(2)}/api/cluster?limit=all`)
    assert.equal(bad.status, 400)
    assert.equal(((await bad.json()) as { code: string }).code, 'INVALID_ARGUMENT')

    // Some SQL traffic for the charts, through node 1 (whose metrics the charts show).
    const sql = new SqlClient(cluster.sqlAddress(1))
    try {
      await sql.query('CREATE TABLE shown (id INT PRIMARY KEY, v TEXT)')
      for (let i = 0; i < 30; i++) await sql.query(`INSERT INTO shown VALUES (${i}, 'v${i}')`)
    } finally {
      sql.close()
    }

    // Every range in the map has its replicas on the three stores and one leader marked.
    await pageWaits(
      page,
      'a leader on every range of the map',
      `(() => {
        const rows = [...document.querySelectorAll('#range-map tbody tr')]
        return rows.length > 0 && rows.length === Number(document.querySelector('#range-count').textContent) &&
          rows.every((r) => r.querySelectorAll('span.leader').length === 1 && r.querySelectorAll('span').length === 3)
      })()`,
      30_000,
    )
    assert.equal(await page.$$eval('#ranges tbody tr', (rows) => rows.length), Number(await page.$eval('#range-count', (e) => e.textContent)))
    await pageWaits(page, 'SQL statements in its chart', `[...document.querySelectorAll('#charts .chart')].some((c) => c.textContent.startsWith('SQL statements/s') && c.querySelector('path.line').getAttribute('d').includes('L'))`, 30_000)
    assert.equal(await page.$$eval('#charts .chart', (charts) => charts.length), 6)
    await pageWaits(page, 'the cluster healthy', `document.querySelector('#cluster-status').textContent === 'healthy'`, 30_000)

    const killedAt = Date.now()
    await cluster.kill(3)
    await pageWaits(page, 'store 3 dead', `document.querySelector('#stores tbody tr[data-store-id="3"]')?.dataset.liveness === 'dead'`, DEAD_WITHIN_MS)
    const shownAfterMs = Date.now() - killedAt
    assert.equal(await page.$eval('#stores-live', (e) => e.textContent), '2 / 3')
    assert.equal(await page.$eval('#range-map thead th[data-store-id="3"]', (e) => e.className), 'dead')
    assert.deepEqual(await page.$$eval('#stores tbody tr', (rows) => rows.map((r) => r.getAttribute('data-liveness'))), ['live', 'live', 'dead'])
    assert.deepEqual(pageErrors, [], 'the page threw no errors')
    const shot = `${ARTIFACTS}console.png`
    await page.screenshot({ path: shot, fullPage: true })
    process.stderr.write(`console.test: the page showed store 3 dead ${shownAfterMs} ms after the kill; screenshot: ${shot}\n`)
  } catch (err) {
    if (page) {
      const shot = `${ARTIFACTS}console-failed.png`
      await page.screenshot({ path: shot, fullPage: true }).then(() => process.stderr.write(`console.test: screenshot of the failure: ${shot}\n`), () => undefined)
    }
    for (const id of [1, 2, 3]) process.stderr.write(`node ${id}:\n${cluster?.logs(id).slice(-2000) ?? ''}\n`)
    throw err
  } finally {
    await browser.close()
    await cluster?.stop()
  }
})
