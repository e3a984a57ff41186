// campaigns.js — every campaign with its status, progress, goal rate and
// spend, and the form that creates one with every setting.

import { api, apiAll } from "./api.js";
import { h, field, showErrors, table, money, percent, badge, announce, put } from "./ui.js";

const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

export async function render(main, _params, signal) {
    const [list, assistants] = await Promise.all([apiAll("/v1/campaigns"), apiAll("/v1/assistants")]);
    const stats = await Promise.all(list.map((c) => api("GET", `/v1/campaigns/${c.id}/stats`)));
    if (signal.aborted) return;
    const rows = list.map((c, i) => ({ ...c, stats: stats[i] }));
    put(main,
        h("h1", {}, "Campaigns"),
        rows.length ? table("Campaigns", [
            { label: "Campaign", value: (c) => h("a", { href: `#/campaigns/${c.id}` }, c.name) },
            { label: "Status", value: (c) => badge(c.status) },
            { label: "Progress", value: (c) => progress(c.stats) },
            { label: "Goal rate", value: (c) => percent(c.stats.goal.conversion), num: true },
            { label: "Spend", value: (c) => money(c.stats.spend.amount_minor, c.stats.spend.currency), num: true },
        ], rows) : h("p", { class: "muted" }, "No campaigns yet."),
        h("h2", {}, "New campaign"),
        assistants.length ? createForm(assistants)
            : h("p", {}, "Create an assistant first (POST /v1/assistants, or outdialctl assistant create)."));
}

function progress(stats) {
    const total = stats.leads.total, done = stats.goal.finished_leads;
    const label = `${done.toLocaleString()} of ${total.toLocaleString()} leads finished`;
    return h("span", {}, h("progress", { max: total || 1, value: done, "aria-label": label }), " ",
        h("span", { class: "muted" }, `${done} / ${total}`));
}

function numberInput(value, min, max) {
    return h("input", { type: "number", value, min, max, step: 1, inputmode: "numeric" });
}

function createForm(assistants) {
    const c = {
        name: h("input", { type: "text", required: true, maxlength: 200 }),
        assistant_id: h("select", {}, assistants.map((a) => h("option", { value: a.id }, a.name))),
        window_start: h("input", { type: "time", value: "09:00" }),
        window_end: h("input", { type: "time", value: "18:00" }),
        timezone_mode: h("select", {}, h("option", { value: "assistant" }, "the assistant's"),
            h("option", { value: "lead" }, "each lead's own")),
        max_retries: numberInput(3, 1, 5),
        retry_interval_minutes: numberInput(60, 10, 4320),
        retry_on_voicemail: h("input", { type: "checkbox" }),
        goal_variable: h("select", {}),
        goal_based_retry: h("input", { type: "checkbox" }),
        max_concurrent_calls: numberInput(10, 1, 1000),
        calls_per_minute: numberInput("", 1, 6000),
        max_call_duration_s: numberInput(600, 10, 43200),
    };
    const goalOptions = () => {
        const a = assistants.find((x) => x.id === c.assistant_id.value) || {};
        const vars = Object.entries(a.post_call_schema || {}).filter(([, t]) => t === "boolean");
        put(c.goal_variable, h("option", { value: "" }, "none"),
            vars.map(([name]) => h("option", { value: name }, name)));
    };
    c.assistant_id.addEventListener("change", goalOptions);
    goalOptions();
    const days = h("fieldset", { class: "field", "aria-describedby": "days-error" },
        h("legend", {}, "Days"),
        DAYS.map((d, i) => h("label", {}, h("input", { type: "checkbox", name: `day-${d}`, value: d, checked: i < 5 }), ` ${d}`)),
        h("span", { class: "error", id: "days-error", "data-error-for": "allowed_days" }));
    const check = (input, label, name) => {
        input.name = name;
        input.id = `f-${name}`;
        return h("div", { class: "field" }, h("label", { for: input.id }, input, ` ${label}`),
            h("span", { class: "error", "data-error-for": name }));
    };
    const form = h("form", { class: "grid", "aria-label": "New campaign", novalidate: true },
        field("Name", c.name, "name"),
        field("Assistant", c.assistant_id, "assistant_id"),
        field("Window start", c.window_start, "window_start", "in the callee's or assistant's time"),
        field("Window end", c.window_end, "window_end", "before the start: crosses midnight"),
        days,
        field("Time zone", c.timezone_mode, "timezone_mode"),
        field("Retries", c.max_retries, "max_retries", "1–5"),
        field("Minutes between retries", c.retry_interval_minutes, "retry_interval_minutes", "10–4320"),
        check(c.retry_on_voicemail, "Retry on voicemail", "retry_on_voicemail"),
        field("Goal variable", c.goal_variable, "goal_variable", "a boolean post-call variable"),
        check(c.goal_based_retry, "Retry until the goal is reached", "goal_based_retry"),
        field("Concurrent calls", c.max_concurrent_calls, "max_concurrent_calls", "1–1000"),
        field("Calls per minute", c.calls_per_minute, "calls_per_minute", "empty: no limit"),
        field("Longest call (s)", c.max_call_duration_s, "max_call_duration_s", "10–43200"),
        h("div", { class: "actions" }, h("button", { class: "primary", type: "submit" }, "Create campaign"),
            h("span", { class: "error form-summary", role: "alert" })));
    form.addEventListener("submit", async (e) => {
        e.preventDefault();
        const num = (input) => (input.value === "" ? null : Number(input.value));
        const body = {
            name: c.name.value, assistant_id: c.assistant_id.value,
            window_start: c.window_start.value, window_end: c.window_end.value,
            allowed_days: [...days.querySelectorAll("input:checked")].map((i) => i.value),
            timezone_mode: c.timezone_mode.value, max_retries: num(c.max_retries),
            retry_interval_minutes: num(c.retry_interval_minutes),
            retry_on_voicemail: c.retry_on_voicemail.checked,
            goal_variable: c.goal_variable.value || null, goal_based_retry: c.goal_based_retry.checked,
            max_concurrent_calls: num(c.max_concurrent_calls), calls_per_minute: num(c.calls_per_minute),
            max_call_duration_s: num(c.max_call_duration_s),
        };
        try {
            const created = await api("POST", "/v1/campaigns", body);
            announce(`Campaign ${created.name} created`);
            location.hash = `#/campaigns/${created.id}`;
        } catch (err) {
            showErrors(form, err);
        }
    });
    return form;
}
