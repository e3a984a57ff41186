// import.js — a CSV file into a campaign: dropped or chosen, previewed
// (delimiter, first rows, proposed mapping), the mapping changed, uploaded
// with a progress bar, then the importer's outcome counts and the rejected
// rows as a download.

import { api, upload, download } from "./api.js";
import { h, field, table, announce, put } from "./ui.js";
import { FIELDS, sniffDelimiter, parseRows, proposeMapping } from "./csv.js";

const PREVIEW_BYTES = 64 * 1024, PREVIEW_ROWS = 6;
const NAMES = { ",": "comma", ";": "semicolon", "\t": "tab" };

export async function render(main, { id }, signal) {
    const campaign = await api("GET", `/v1/campaigns/${id}`);
    if (signal.aborted) return;
    const input = h("input", { type: "file", accept: ".csv,.tsv,.txt,text/csv" });
    const drop = h("div", { class: "drop" }, h("p", {}, "Drop a CSV file here, or choose one."),
        field("CSV file", input, "file"));
    const preview = h("div");
    const choose = (file) => file && showPreview(preview, id, file, signal);
    input.addEventListener("change", () => choose(input.files[0]));
    drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
    drop.addEventListener("dragleave", () => drop.classList.remove("over"));
    drop.addEventListener("drop", (e) => {
        e.preventDefault();
        drop.classList.remove("over");
        choose(e.dataTransfer.files[0]);
    });
    put(main,
        h("p", {}, h("a", { href: `#/campaigns/${id}` }, `← ${campaign.name}`)),
        h("h1", {}, "Import leads"), drop, preview);
}

async function showPreview(preview, id, file, signal) {
    const text = await file.slice(0, PREVIEW_BYTES).text();
    const delimiter = sniffDelimiter(text);
    const [header = [], ...rows] = parseRows(text, delimiter, PREVIEW_ROWS);
    const proposed = proposeMapping(header);
    const selects = {};
    const mapping = h("form", { class: "grid", "aria-label": "Column mapping" },
        Object.keys(FIELDS).map((f) => {
            selects[f] = h("select", {}, h("option", { value: "" }, proposed[f] ? `${proposed[f]} (default)` : "none"),
                header.map((c) => h("option", { value: c }, c)));
            return field(f.replaceAll("_", " "), selects[f], `map-${f}`);
        }),
        h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Upload"),
            h("span", { class: "error form-summary", role: "alert" })));
    const bar = h("progress", { max: 1, value: 0, "aria-label": "Upload progress" });
    const outcome = h("div", { "aria-live": "polite" });
    mapping.addEventListener("submit", async (e) => {
        e.preventDefault();
        const chosen = Object.entries(selects).filter(([, s]) => s.value);
        const phone = selects.phone.value || proposed.phone;
        const summary = mapping.querySelector(".form-summary");
        if (!phone) { summary.textContent = "Choose the column that holds the phone number."; selects.phone.focus(); return; }
        if (chosen.some(([, s]) => s.value.includes(","))) { summary.textContent = "A mapped column name contains a comma; rename it in the file."; return; }
        summary.textContent = "";
        const map = chosen.map(([f, s]) => `${f}:${s.value}`).join(",");
        const qs = new URLSearchParams({ filename: file.name });
        if (map) qs.set("map", map);
        mapping.querySelector("button").disabled = true;
        try {
            const imp = await upload(`/v1/campaigns/${id}/imports?${qs}`, file, (f) => (bar.value = f));
            bar.value = 1;
            announce("Uploaded; importing");
            await follow(imp.id, outcome, signal);
        } catch (err) {
            summary.textContent = err.message;
            mapping.querySelector("button").disabled = false;
        }
    });
    put(preview,
        h("h2", {}, file.name),
        h("p", {}, `${(file.size / 1024).toFixed(1)} KiB, delimiter: `, h("strong", { id: "delimiter" }, NAMES[delimiter] || delimiter)),
        header.length ? table("First rows", header.map((c, i) => ({ label: c, value: (r) => r[i] || "" })), rows) : null,
        h("h2", {}, "Columns"), mapping,
        h("h2", {}, "Upload"), bar, outcome);
}

// Polls the import until it is done; shows its counts and the rejects.
async function follow(importId, outcome, signal) {
    for (;;) {
        const imp = await api("GET", `/v1/imports/${importId}`);
        const r = imp.rows || {};
        put(outcome,
            h("p", {}, "Import ", h("strong", { id: "import-status" }, imp.status),
                imp.error ? h("span", { class: "error" }, `: ${imp.error}`) : null),
            table("Import outcome", [
                { label: "read", value: () => String(r.read ?? 0), num: true },
                { label: "imported", value: () => String(r.imported ?? 0), num: true },
                { label: "duplicate", value: () => String(r.duplicate ?? 0), num: true },
                { label: "do not call", value: () => String(r.dnc ?? 0), num: true },
                { label: "rejected", value: () => String(r.rejected ?? 0), num: true },
            ], [imp]),
            r.rejected ? h("button", { type: "button", onclick: () => download(`/v1/imports/${importId}/rejects?format=csv`, "rejected-rows.csv") },
                "Download rejected rows (CSV)") : null);
        if (imp.status === "completed" || imp.status === "failed" || signal.aborted) {
            announce(`Import ${imp.status}`);
            return;
        }
        await new Promise((res) => setTimeout(res, 1000));
    }
}
