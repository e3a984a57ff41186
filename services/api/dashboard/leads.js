// leads.js — a campaign's leads, a page at a time, filtered by status,
// outcome and part of the phone number (the filters live in the URL, so a
// filtered page can be shared and the back button works).

import { api } from "./api.js";
import { h, field, table, badge, when, put } from "./ui.js";

const STATUSES = ["", "created", "scheduled", "processing", "rescheduled", "completed", "max_retries"];
const OUTCOMES = ["", "goal_achieved", "answered", "voicemail", "exhausted", "permanent_failure", "dnc", "manual"];
const PAGE = 50;

export async function render(main, { id, query }, signal) {
    const filters = { status: query.get("status") || "", outcome: query.get("outcome") || "", phone: query.get("phone") || "" };
    const cursor = query.get("cursor") || "";
    const qs = new URLSearchParams({ limit: PAGE });
    for (const [k, v] of Object.entries(filters)) if (v) qs.set(k, v);
    if (cursor) qs.set("cursor", cursor);
    const [campaign, page] = await Promise.all([
        api("GET", `/v1/campaigns/${id}`), api("GET", `/v1/campaigns/${id}/leads?${qs}`)]);
    if (signal.aborted) return;

    const select = (values, value) => h("select", {}, values.map((v) =>
        h("option", { value: v, selected: v === value }, v ? v.replaceAll("_", " ") : "any")));
    const status = select(STATUSES, filters.status), outcome = select(OUTCOMES, filters.outcome);
    const phone = h("input", { type: "search", value: filters.phone, inputmode: "tel" });
    const form = h("form", { class: "grid", "aria-label": "Filter leads" },
        field("Status", status, "status"), field("Outcome", outcome, "outcome"),
        field("Phone contains", phone, "phone"),
        h("div", { class: "actions" }, h("button", { type: "submit" }, "Filter")));
    form.addEventListener("submit", (e) => {
        e.preventDefault();
        const next = new URLSearchParams();
        if (status.value) next.set("status", status.value);
        if (outcome.value) next.set("outcome", outcome.value);
        if (phone.value.trim()) next.set("phone", phone.value.trim());
        location.hash = `#/campaigns/${id}/leads?${next}`;
    });
    // Back goes through history (the cursor of the previous page is there).
    const nextQs = new URLSearchParams(qs);
    nextQs.delete("limit");
    nextQs.set("cursor", page.next_cursor || "");
    put(main,
        h("p", {}, h("a", { href: `#/campaigns/${id}` }, `← ${campaign.name}`)),
        h("h1", {}, "Leads"),
        form,
        page.data.length ? table("Leads", [
            { label: "Phone", value: (l) => h("a", { href: `#/leads/${l.id}` }, l.phone || `${l.raw_phone} (invalid)`) },
            { label: "Name", value: (l) => l.name || "" },
            { label: "Status", value: (l) => badge(l.status) },
            { label: "Outcome", value: (l) => (l.outcome || "").replaceAll("_", " ") },
            { label: "Attempts", value: (l) => String(l.attempts), num: true },
            { label: "Contact", value: (l) => (l.parent_lead_id ? `secondary ${l.contact_order}` : "primary") },
            { label: "Last call", value: (l) => when(l.last_call_at) },
        ], page.data) : h("p", { class: "muted" }, "No leads match."),
        h("div", { class: "actions" },
            cursor ? h("button", { type: "button", onclick: () => history.back() }, "Previous page") : null,
            page.next_cursor ? h("a", { href: `#/campaigns/${id}/leads?${nextQs}` }, "Next page") : null));
}
