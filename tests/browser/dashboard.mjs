// tests/browser/dashboard.mjs — the dashboard in Debian's chromium, headless,
// through playwright-core (no browser download), against the real stack
// that tests/browser/run starts. It signs in, creates a campaign through the
// form (after one refused by the API's validation, shown next to its
// field), imports a CSV through the import page with one mapped column
// (dropped on the drop zone), starts the campaign by keyboard, and waits
// for the live stream to show it Completed, with the goal count the
// database has. On every page: a screenshot, every form control labelled,
// no console error.
//
// Environment: DASH_URL, DASH_KEY, DASH_CSV, DASH_ARTIFACTS, DASH_PG_DSN,
// DASH_CHROMIUM (default /usr/bin/chromium), DASH_TIMEOUT_S (default 180).

import { chromium } from "playwright-core";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import assert from "node:assert/strict";

const env = (name, dflt) => {
    const v = process.env[name] ?? dflt;
    if (v === undefined) throw new Error(`${name} is not set (tests/browser/run sets it)`);
    return v;
};
const URL_BASE = env("DASH_URL"), KEY = env("DASH_KEY"), CSV = env("DASH_CSV");
const ART = env("DASH_ARTIFACTS"), DSN = env("DASH_PG_DSN");
const TIMEOUT_MS = Number(env("DASH_TIMEOUT_S", "180")) * 1000;
fs.mkdirSync(ART, { recursive: true });

const browser = await chromium.launch({
    executablePath: env("DASH_CHROMIUM", "/usr/bin/chromium"),
    args: ["--no-sandbox", "--disable-dev-shm-usage"],
});
const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
const page = await context.newPage();
page.setDefaultTimeout(20000);

// Console errors fail the test, except the one a step expects (the API's
// 400 for the refused campaign is logged by the browser as a failed load).
const consoleErrors = [];
let expectedError = null;
page.on("console", (msg) => {
    if (msg.type() !== "error") return;
    if (expectedError && expectedError.test(msg.text())) return;
    consoleErrors.push(msg.text());
});
page.on("pageerror", (err) => consoleErrors.push(`page error: ${err.message}`));

let step = 0;
// The records of a CSV text: line ends outside quoted fields.
function csvRecords(text) {
    let n = 0, quoted = false;
    for (const ch of text) {
        if (ch === '"') quoted = !quoted;
        else if (ch === "\n" && !quoted) n++;
    }
    return text.endsWith("\n") ? n : n + 1;
}

async function checkPage(name) {
    await page.waitForLoadState("networkidle").catch(() => {});
    // Every form control has a label (a <label>, aria-label or aria-labelledby).
    const unlabelled = await page.$$eval("input, select, textarea", (els) => els
        .filter((e) => e.type !== "hidden" && !e.labels?.length && !e.getAttribute("aria-label") && !e.getAttribute("aria-labelledby"))
        .map((e) => e.outerHTML.slice(0, 120)));
    assert.deepEqual(unlabelled, [], `${name}: form controls without a label`);
    const nameless = await page.$$eval("button, a[href]", (els) => els
        .filter((e) => !(e.textContent.trim() || e.getAttribute("aria-label")))
        .map((e) => e.outerHTML.slice(0, 120)));
    assert.deepEqual(nameless, [], `${name}: buttons or links without a name`);
    assert.deepEqual(consoleErrors, [], `${name}: console errors`);
    const file = path.join(ART, `${String(++step).padStart(2, "0")}-${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    console.log(`browser: ${name} ok (${file})`);
}

// Tabs until the focused element matches pred (at most 60 presses): the
// element is reachable by keyboard.
async function tabTo(what, pred) {
    for (let i = 0; i < 60; i++) {
        await page.keyboard.press("Tab");
        if (await page.evaluate(pred)) return;
    }
    throw new Error(`${what} cannot be reached with the Tab key`);
}

function sql(query) {
    return execFileSync("psql", ["-qAt", DSN, "-c", query], { encoding: "utf8" }).trim();
}

try {
    // Sign in, by keyboard.
    await page.goto(URL_BASE);
    await page.waitForSelector("input[name=api_key]");
    await checkPage("sign-in");
    assert.equal(await page.evaluate(() => document.activeElement.name), "api_key", "the key field has the focus");
    await page.keyboard.type(KEY);
    await page.keyboard.press("Enter");
    await page.waitForSelector("h1:text('Campaigns')");
    assert.equal(await page.evaluate(() => sessionStorage.getItem("outdial.api_key")), KEY);
    assert.equal(await page.evaluate(() => localStorage.length), 0, "nothing in localStorage");

    // Create a campaign: first refused (6 retries), the error beside its field.
    await page.fill("input[name=name]", "Browser campaign");
    await page.selectOption("select[name=goal_variable]", "appointment_booked");
    await page.check("input[name=goal_based_retry]");
    await page.check("input[name=retry_on_voicemail]");
    await page.fill("input[name=retry_interval_minutes]", "10");
    await page.fill("input[name=max_concurrent_calls]", "20");
    // The whole day, every day: campaign time runs fast and may reach any hour.
    await page.fill("input[name=window_start]", "00:00");
    await page.fill("input[name=window_end]", "00:00");
    await page.check("input[name=day-sat]");
    await page.check("input[name=day-sun]");
    await page.fill("input[name=max_retries]", "6");
    expectedError = /status of 400/;
    await page.click("button:text('Create campaign')");
    const retriesError = page.locator("[data-error-for=max_retries]");
    await retriesError.filter({ hasText: "between 1 and 5" }).waitFor();
    assert.equal(await page.getAttribute("input[name=max_retries]", "aria-invalid"), "true");
    expectedError = null;
    await checkPage("campaigns-validation");
    await page.fill("input[name=max_retries]", "3");
    // Submitted by keyboard: Enter in a field of the form.
    await page.focus("input[name=max_retries]");
    await page.keyboard.press("Enter");
    await page.waitForSelector("h1:text('Browser campaign')");
    const campaignId = page.url().match(/campaigns\/([0-9a-f-]{36})/)[1];
    await checkPage("campaign-draft");

    // Start refused before any lead: every unmet requirement listed.
    expectedError = /status of 409/;
    await page.click("button:text('Start')");
    await page.locator(".problems li[data-code=no_leads]").waitFor();
    expectedError = null;

    // Import: the CSV dropped on the drop zone, the phone column mapped.
    await page.click("a:text('Import CSV')");
    await page.waitForSelector(".drop");
    const csv = fs.readFileSync(CSV, "utf8");
    const dataTransfer = await page.evaluateHandle(({ text, name }) => {
        const dt = new DataTransfer();
        dt.items.add(new File([text], name, { type: "text/csv" }));
        return dt;
    }, { text: csv, name: path.basename(CSV) });
    await page.dispatchEvent(".drop", "drop", { dataTransfer });
    await page.waitForSelector("#delimiter");
    assert.equal(await page.textContent("#delimiter"), "semicolon");
    assert.match(await page.textContent("select[name=map-phone] option[value='']"), /none/,
        "no default column for the phone");
    await page.selectOption("select[name=map-phone]", "Mobile Nr");
    await page.click("button:text('Upload')");
    await page.locator("#import-status").filter({ hasText: "completed" }).waitFor({ timeout: TIMEOUT_MS });
    const rows = csv.trim().split("\n").length - 1;
    const imported = Number(sql(`SELECT count(*) FROM lead WHERE campaign_id = '${campaignId}'`));
    assert.equal(imported, rows - 1, "every row but the invalid one imported");
    assert.equal(await page.getAttribute("progress[aria-label='Upload progress']", "value"), "1");
    const [download] = await Promise.all([page.waitForEvent("download"),
        page.click("button:text('Download rejected rows (CSV)')")]);
    const rejects = fs.readFileSync(await download.path(), "utf8");
    assert.match(rejects, /too_short/, "the rejected rows name the reason");
    await checkPage("import");

    // Start by keyboard; the live stream shows it reach Completed.
    await page.click(`a:text('Browser campaign')`).catch(() => page.goto(`${URL_BASE}/#/campaigns/${campaignId}`));
    await page.waitForSelector("button:text('Start')");
    assert.equal(await page.textContent("#leads-waiting"),
        `${imported} leads waiting: the campaign is a draft: start it to call them`);
    await tabTo("the Start button", () => document.activeElement.textContent === "Start");
    await page.keyboard.press("Enter");
    await page.locator("#campaign-status").filter({ hasText: "in progress" }).or(
        page.locator("#campaign-status").filter({ hasText: "completed" })).waitFor();
    await page.locator("#campaign-status").filter({ hasText: "completed" }).waitFor({ timeout: TIMEOUT_MS });
    const goalsDb = sql(`SELECT count(*) FROM lead WHERE campaign_id = '${campaignId}' AND goal_result`);
    await page.locator("#goals-achieved").filter({ hasText: new RegExp(`^${goalsDb}$`) }).waitFor();
    const finished = await page.textContent("#leads-finished");
    assert.equal(finished, `${imported} / ${imported}`, "every lead finished");
    assert.ok(Number(goalsDb) > 0, "some goals reached");
    await page.locator(".chart svg").waitFor();
    assert.equal(await page.locator("#leads-waiting").count(), 0, "no lead waits once it ran");
    // Both exports, as files: a row per lead and per call, as in the database.
    for (const [what, table] of [["leads", "lead"], ["calls", "call"]]) {
        const [file] = await Promise.all([page.waitForEvent("download"),
            page.click(`button:text('Download ${what} (CSV)')`)]);
        const text = fs.readFileSync(await file.path(), "utf8");
        const inDb = sql(`SELECT count(*) FROM ${table} WHERE campaign_id = '${campaignId}'`);
        assert.equal(String(csvRecords(text) - 1), inDb, `${what}.csv has a row per ${table}`);
        assert.match(text, /^[a-z_]+,/, `${what}.csv starts with its header`);
    }
    console.log(`browser: campaign completed, goals ${goalsDb} (database) = page`);
    await checkPage("campaign-completed");

    // Leads: filtered by outcome, then one lead's page.
    await page.click("a:text('Leads')");
    await page.waitForSelector("h1:text('Leads')");
    await page.selectOption("select[name=outcome]", "goal_achieved");
    await page.click("button:text('Filter')");
    await page.waitForURL(/outcome=goal_achieved/);
    // The URL changes at once, and the page draws "Loading…" before the
    // filtered table: wait (15 s at most) until the table shows every lead
    // that reached the goal and only those.
    const filtered = () => page.$$eval("tbody tr", (trs) => ({
        rows: trs.length, goal: trs.filter((tr) => tr.textContent.includes("goal achieved")).length,
    }));
    const want = Number(goalsDb);
    await page.waitForFunction((n) => {
        const trs = [...document.querySelectorAll("tbody tr")];
        return trs.length === n && trs.every((tr) => tr.textContent.includes("goal achieved"));
    }, want, { timeout: 15000 }).catch(() => {}); // the assert below says what was seen
    assert.deepEqual(await filtered(), { rows: want, goal: want },
        `the filter shows the ${want} leads that reached the goal, and only those`);
    await checkPage("leads");
    await page.click("tbody tr a");
    await page.waitForSelector("h2:text('Calls (')");
    assert.ok(await page.locator("ol.timeline li").count() >= 1, "the lead's calls are shown");
    await checkPage("lead");

    // DNC: add a number and check it.
    await page.click("header a:text('Do not call')");
    await page.fill("input[name=phone]", "+14155550199");
    await page.fill("input[name=reason]", "asked");
    await page.click("button:text('Add')");
    await page.waitForSelector("td:text('+14155550199')");
    await page.fill("input[name=check]", "(415) 555-0199");
    await page.click("button:text('Check')");
    await page.locator("#dnc-check-answer").filter({ hasText: "is on the list" }).waitFor();
    await checkPage("dnc");

    // The campaigns list, and sign out by keyboard.
    await page.click("header a:text('Campaigns')");
    await page.waitForSelector("td a:text('Browser campaign')");
    await checkPage("campaigns");
    await page.focus("#sign-out");
    await page.keyboard.press("Enter");
    await page.waitForSelector("input[name=api_key]");
    assert.equal(await page.evaluate(() => sessionStorage.getItem("outdial.api_key")), null);
    assert.deepEqual(consoleErrors, [], "console errors");
    console.log("browser: passed");
} catch (err) {
    await page.screenshot({ path: path.join(ART, "failure.png"), fullPage: true }).catch(() => {});
    console.error(`browser: FAILED: ${err.stack || err}`);
    if (consoleErrors.length) console.error(`console errors: ${consoleErrors.join("\n")}`);
    process.exitCode = 1;
} finally {
    await browser.close();
}
