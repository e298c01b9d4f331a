// Renders a Cucumber Messages NDJSON file with the official HTML formatter, opens the page
// in headless Chromium, and prints what the page shows of each test case as JSON.
// Used by harness/tests/common/formatter.rs; the packages come from
// ci/ensure-report-readers.
//
//   node formatter.mjs READERS_DIR MESSAGES.ndjson OUT.html CHROMIUM PROFILE_DIR
//
// The formatter's own pipeline, as cucumber-js uses it: NdjsonToMessageStream from
// @cucumber/message-streams piped into CucumberHtmlStream. The page shows one disclosure
// per feature file, closed; each is opened (one at a time: the page handles one press per
// render), then every rendered test case is read: the id of the heading above it (the
// scenario's AST node id, or the example row's for an outline) and, per step, its status,
// keyword and the text after the keyword exactly as the page shows it.
//
// Output: {"cases": [{"astNodeId": "12", "steps": [{"status", "keyword", "text"}]}]}

import fs from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import { pathToFileURL } from 'node:url'

const [readers, input, output, chromium, profile] = process.argv.slice(2)
if (!profile) {
  console.error('usage: node formatter.mjs READERS_DIR MESSAGES.ndjson OUT.html CHROMIUM PROFILE_DIR')
  process.exit(2)
}
const require = createRequire(path.resolve(readers, 'package.json'))
const load = async (name) => {
  const module = await import(pathToFileURL(require.resolve(name)).href)
  return module.default && Object.keys(module).length === 1 ? module.default : module
}
const { NdjsonToMessageStream } = await load('@cucumber/message-streams')
const { CucumberHtmlStream } = await load('@cucumber/html-formatter')
const puppeteer = await load('puppeteer-core')

await pipeline(
  fs.createReadStream(input, { encoding: 'utf-8' }),
  new NdjsonToMessageStream(),
  new CucumberHtmlStream(),
  fs.createWriteStream(output)
)

const browser = await puppeteer.launch({
  executablePath: chromium,
  headless: true,
  userDataDir: profile,
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
})
try {
  const page = await browser.newPage()
  const errors = []
  page.on('pageerror', (e) => errors.push(String(e)))
  await page.goto(pathToFileURL(path.resolve(output)).href, { waitUntil: 'load' })
  await page.waitForSelector('#report', { timeout: 30000 })
  const closed = 'button[aria-expanded="false"]'
  for (;;) {
    const before = await page.evaluate((sel) => {
      const buttons = document.querySelectorAll(sel)
      if (buttons.length) buttons[0].click()
      return buttons.length
    }, closed)
    if (before === 0) break
    await page.waitForFunction(
      (sel, n) => document.querySelectorAll(sel).length < n,
      { timeout: 10000 },
      closed,
      before
    )
  }
  const cases = await page.evaluate(() =>
    [...document.querySelectorAll('#report article')]
      .map((article) => {
        const section = article.closest('section')
        const heading = section?.querySelector(':scope > div > [id]')
        const steps = [...article.querySelectorAll(':scope > ol > li[data-status]')].map((li) => {
          const title = li.querySelector('h3')
          const keyword = title?.firstElementChild
          const text = [...(title?.childNodes ?? [])]
            .filter((node) => node !== keyword)
            .map((node) => node.textContent)
            .join('')
          return {
            status: li.getAttribute('data-status'),
            keyword: keyword?.textContent ?? '',
            text,
          }
        })
        return { astNodeId: heading?.id ?? null, steps }
      })
      // The report itself is an article too: only those with steps of their own.
      .filter((c) => c.steps.length > 0)
  )
  if (errors.length) {
    console.error(`the page raised: ${errors.join('\n')}`)
    process.exitCode = 1
  }
  process.stdout.write(JSON.stringify({ cases }))
} finally {
  await browser.close()
}
