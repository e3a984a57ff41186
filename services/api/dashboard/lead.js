// lead.js — one lead: its details, every call with its status history,
// duration, cost, answerer and post-call variables, its secondary
// contacts, and the actions set to created, set to completed and delete.

import { api, apiAll } from "./api.js";
import { h, table, badge, when, money, announce, put } from "./ui.js";

function kv(pairs) {
    return h("dl", { class: "kv" }, pairs.filter(([, v]) => v !== undefined).flatMap(([k, v]) =>
        [h("dt", {}, k), h("dd", {}, v === null || v === "" ? "–" : v)]));
}

function vars(obj) {
    const entries = Object.entries(obj || {});
    return entries.length ? entries.map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join(", ") : null;
}

// The lead's latest callback request: asked for when, placed when, and
// why it moved or was refused (docs/rules.md "Callbacks").
function callback(cb) {
    if (!cb) return null;
    const moved = cb.reason ? ` (${cb.status === "refused" ? "refused" : "moved"}: ${cb.reason.replaceAll("_", " ")})` : "";
    return `${cb.status}: asked for ${cb.asked_for ? when(cb.asked_for) : "no time"}` +
        `${cb.at ? `, placed at ${when(cb.at)}` : ""}${moved}, asked ${when(cb.asked_at)}`;
}

export async function render(main, { id }, signal) {
    const lead = await api("GET", `/v1/leads/${id}`);
    const [campaign, calls, contacts, account] = await Promise.all([
        api("GET", `/v1/campaigns/${lead.campaign_id}`), apiAll(`/v1/leads/${id}/calls`),
        lead.parent_lead_id ? [] : apiAll(`/v1/campaigns/${lead.campaign_id}/leads?parent_lead_id=${id}`),
        api("GET", "/v1/account")]);
    if (signal.aborted) return;
    const problems = h("div", { role: "alert" });
    const act = async (action, method = "POST") => {
        put(problems);
        try {
            await api(method, method === "DELETE" ? `/v1/leads/${id}` : `/v1/leads/${id}/${action}`);
            announce(`Lead ${action === "delete" ? "deleted" : "updated"}`);
            location.hash = method === "DELETE" ? `#/campaigns/${lead.campaign_id}/leads` : location.hash;
            if (method !== "DELETE") render(main, { id }, signal);
        } catch (err) {
            put(problems, h("p", { class: "problems" }, err.message));
        }
    };
    put(main,
        h("p", {}, h("a", { href: `#/campaigns/${lead.campaign_id}/leads` }, `← leads of ${campaign.name}`)),
        h("h1", {}, lead.phone || lead.raw_phone, lead.name ? ` — ${lead.name}` : ""),
        kv([["status", badge(lead.status)], ["outcome", lead.outcome], ["goal reached", lead.goal_result === null ? null : String(lead.goal_result)],
            ["attempts", String(lead.attempts)], ["next call", when(lead.next_attempt_at)],
            ["time zone", lead.timezone], ["invalid", lead.invalid_reason], ["variables", vars(lead.variables)],
            ["callback", callback(lead.callback)],
            ["contact", lead.parent_lead_id ? h("a", { href: `#/leads/${lead.parent_lead_id}` }, `secondary ${lead.contact_order} of its primary`) : "primary"]]),
        h("div", { class: "actions" },
            h("button", { type: "button", onclick: () => act("reset") }, "Set to created"),
            h("button", { type: "button", onclick: () => act("complete") }, "Set to completed"),
            h("button", { type: "button", class: "danger", onclick: () => confirm("Delete this lead?") && act("delete", "DELETE") }, "Delete")),
        problems,
        h("h2", {}, `Calls (${calls.length})`),
        calls.length ? h("ol", { class: "timeline" }, calls.map((c) => h("li", {},
            h("strong", {}, c.callback ? `Callback (attempt ${c.attempt_number}, uses no retry): ` : `Attempt ${c.attempt_number}: `), badge(c.status), ` ${when(c.started_at || c.created_at)}`,
            kv([["number", c.phone], ["answered by", c.answered_by], ["duration", c.duration_s === null ? null : `${c.duration_s} s`],
                ["cost", c.cost_minor === null ? null : money(c.cost_minor, account.currency)],
                ["ended", c.ended_reason], ["post-call variables", vars(c.post_call_variables)],
                ["summary", c.post_call_variables && c.post_call_variables.summary !== undefined ? String(c.post_call_variables.summary) : null],
                ["status history", (c.status_history || []).map((s) => `${s.status} ${when(s.at_us / 1000)}`).join(" → ")],
                ["callback asked", lead.callback && lead.callback.call_id === c.id ? callback(lead.callback) : undefined]]))).concat(
            lead.callback && lead.callback.status === "pending" ? [h("li", {}, h("strong", {}, "Callback: "), `pending at ${when(lead.callback.at)}`)] : [])) : h("p", { class: "muted" }, "No calls yet."),
        lead.parent_lead_id ? null : h("section", {}, h("h2", {}, "Secondary contacts"),
            contacts.length ? table("Secondary contacts", [
                { label: "Order", value: (l) => String(l.contact_order), num: true },
                { label: "Phone", value: (l) => h("a", { href: `#/leads/${l.id}` }, l.phone || l.raw_phone) },
                { label: "Status", value: (l) => badge(l.status) },
                { label: "Outcome", value: (l) => (l.outcome || "").replaceAll("_", " ") },
            ], contacts) : h("p", { class: "muted" }, "None.")));
}
