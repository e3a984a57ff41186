// campaign.js — one campaign: its status with Start / Pause / Resume (a
// refused start lists every unmet requirement), leads per status and
// outcome, calls per result, goal conversion, spend and calls per hour,
// the A/B arms side by side when the campaign has them, the answer rate
// per outbound number of a caller-ID pool, kept current by the API's live
// stream (GET /v1/campaigns/{id}/live).

import { api, live, download } from "./api.js";
import { h, countTable, table, money, percent, badge, announce, put } from "./ui.js";
import { hourlyChart } from "./chart.js";

const ACTIONS = { draft: ["start"], in_progress: ["pause"], paused: ["resume"], completed: ["resume"] };

export async function render(main, { id }, signal) {
    const [campaign, stats, hourly] = await Promise.all([
        api("GET", `/v1/campaigns/${id}`), api("GET", `/v1/campaigns/${id}/stats`),
        api("GET", `/v1/campaigns/${id}/hourly`)]);
    if (signal.aborted) return;
    const state = { status: campaign.status, pause_reason: campaign.pause_reason, stats, hourly: hourly.data };
    const head = h("div");
    const problems = h("div", { role: "alert" });
    const body = h("div");
    put(main,
        h("h1", {}, campaign.name),
        h("p", { class: "muted" }, `${campaign.window_start}–${campaign.window_end}, ${campaign.allowed_days.join(" ")}, ` +
            `${campaign.max_retries} retries every ${campaign.retry_interval_minutes} min, ` +
            `goal: ${campaign.goal_variable || "none"}`),
        head, problems, body);

    const draw = () => {
        put(head, h("div", { class: "actions" },
            h("span", {}, "Status: ", h("span", { id: "campaign-status" }, badge(state.status)),
                state.pause_reason ? h("span", { class: "muted" }, ` (${state.pause_reason.replaceAll("_", " ")})`) : null),
            (ACTIONS[state.status] || []).map((a) => h("button", { type: "button", class: "primary", onclick: () => act(a) },
                a[0].toUpperCase() + a.slice(1))),
            h("a", { href: `#/campaigns/${id}/leads` }, "Leads"),
            h("a", { href: `#/campaigns/${id}/import` }, "Import CSV"),
            h("button", { type: "button", onclick: () => save("leads") }, "Download leads (CSV)"),
            h("button", { type: "button", onclick: () => save("calls") }, "Download calls (CSV)")));
        put(body, waiting_view(state.stats.leads_waiting), ...stats_view(state.stats, state.hourly));
    };
    // The exports stream every lead or call (GET /v1/campaigns/{id}/leads.csv).
    const save = async (what) => {
        put(problems);
        try {
            await download(`/v1/campaigns/${id}/${what}.csv`, `${campaign.name}-${what}.csv`);
        } catch (err) {
            put(problems, h("div", { class: "problems" }, h("p", {}, err.message)));
        }
    };
    const act = async (action) => {
        put(problems);
        try {
            const c = await api("POST", `/v1/campaigns/${id}/${action}`);
            state.status = c.status;
            state.pause_reason = c.pause_reason;
            announce(`Campaign ${c.status.replaceAll("_", " ")}`);
            draw();
        } catch (err) {
            put(problems, h("div", { class: "problems" },
                h("p", {}, err.code === "requirements_unmet" ? `The campaign cannot ${action} yet:` : err.message),
                err.problems.length ? h("ul", {}, err.problems.map((p) => h("li", { "data-code": p.code }, p.message))) : null));
        }
    };
    draw();

    let lastHourly = 0;
    live(id, async (event, data) => {
        if (event !== "stats") return;
        state.status = data.status;
        state.pause_reason = data.pause_reason;
        state.stats = data.stats;
        // The chart changes by the hour: read it at most every 5 s.
        if (Date.now() - lastHourly > 5000) {
            lastHourly = Date.now();
            state.hourly = (await api("GET", `/v1/campaigns/${id}/hourly`)).data;
        }
        if (!signal.aborted) draw();
    }, signal);
}

// Leads that could be called but wait for the campaign to run
// (stats.leads_waiting); nothing when none wait.
function waiting_view(w) {
    if (!w || !w.count) return null;
    return h("p", { id: "leads-waiting", class: "notice", role: "status" },
        `${w.count} ${w.count === 1 ? "lead" : "leads"} waiting: ${w.message}`);
}

function card(label, value, id) {
    return h("div", { class: "card" }, h("div", { class: "value", id }, value), h("div", { class: "label" }, label));
}

function stats_view(s, hourly) {
    const calls = s.calls;
    const answered = calls.by_answered_by.human || 0;
    return [
        h("div", { class: "cards" },
            card("leads finished", `${s.goal.finished_leads} / ${s.leads.total}`, "leads-finished"),
            card("goals reached", String(s.goal.achieved), "goals-achieved"),
            card("goal conversion", percent(s.goal.conversion), "goal-conversion"),
            card("calls", String(calls.total), "calls-total"),
            card("answered by a person", String(answered), "calls-answered"),
            card("spend", money(s.spend.amount_minor, s.spend.currency), "spend")),
        h("h2", {}, "Calls per hour"),
        hourlyChart(hourly),
        h("div", { class: "cols" },
            h("section", {}, h("h2", {}, "Leads per status"), countTable("status", s.leads.by_status)),
            h("section", {}, h("h2", {}, "Leads per outcome"), countTable("outcome", s.leads.by_outcome)),
            h("section", {}, h("h2", {}, "Calls per result"), countTable("result", calls.by_status)),
            h("section", {}, h("h2", {}, "Calls per answerer"), countTable("answered by", calls.by_answered_by))),
        s.arms && s.arms.length ? armsView(s.arms, s.spend.currency) : null,
        s.caller_ids && s.caller_ids.length ? callerIdsView(s.caller_ids) : null,
    ];
}

// The caller-ID pool: per outbound number its calls and answer rate, so
// that a number carriers flag as spam (a rate below its siblings') shows.
function callerIdsView(numbers) {
    return h("section", { id: "caller-ids", "aria-labelledby": "caller-ids-title" },
        h("h2", { id: "caller-ids-title" }, "Answer rate per outbound number"),
        table("Answer rate per outbound number", [
            { label: "Number", value: (n) => n.phone_number },
            { label: "Calls", value: (n) => n.calls.toLocaleString(), num: true },
            { label: "Answered", value: (n) => n.answered.toLocaleString(), num: true },
            { label: "Answer rate", value: (n) => percent(n.answer_rate), num: true },
        ], numbers));
}

// The A/B arms: per assistant its calls, answer rate, goal rate with the
// 95% interval (two arms whose intervals do not overlap differ by more
// than chance) and cost per goal.
function armsView(arms, currency) {
    const interval = (a) => a.goal_rate_interval
        ? `${percent(a.goal_rate_interval.low)} – ${percent(a.goal_rate_interval.high)}` : "–";
    return h("section", { id: "ab-arms", "aria-labelledby": "ab-arms-title" },
        h("h2", { id: "ab-arms-title" }, "A/B arms"),
        table("A/B arms", [
            { label: "Assistant", value: (a) => `${a.assistant_name || a.assistant_id} (weight ${a.weight})` },
            { label: "Leads", value: (a) => `${a.finished_leads.toLocaleString()} / ${a.leads.toLocaleString()} finished`, num: true },
            { label: "Calls", value: (a) => a.calls.toLocaleString(), num: true },
            { label: "Answer rate", value: (a) => percent(a.answer_rate), num: true },
            { label: "Goals", value: (a) => a.goals.toLocaleString(), num: true },
            { label: "Goal rate", value: (a) => percent(a.goal_rate), num: true },
            { label: "95% interval", value: interval, num: true },
            { label: "Spend", value: (a) => money(a.spend_minor, currency), num: true },
            { label: "Cost per goal", value: (a) => a.cost_per_goal_minor === null ? "–" : money(a.cost_per_goal_minor, currency), num: true },
        ], arms));
}
