// dnc.js — the account's do-not-call list: list, add, remove, check.

import { api, apiAll } from "./api.js";
import { h, field, showErrors, table, when, announce, put } from "./ui.js";

export async function render(main, _params, signal) {
    const list = await apiAll("/v1/dnc");
    if (signal.aborted) return;
    const phone = h("input", { type: "tel", required: true });
    const reason = h("input", { type: "text", maxlength: 200 });
    const add = h("form", { class: "grid", "aria-label": "Add a number" },
        field("Phone number", phone, "phone"), field("Reason", reason, "reason"),
        h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Add"),
            h("span", { class: "error form-summary", role: "alert" })));
    add.addEventListener("submit", async (e) => {
        e.preventDefault();
        try {
            await api("POST", "/v1/dnc", [{ phone: phone.value, reason: reason.value || undefined }]);
            announce(`${phone.value} added`);
            render(main, _params, signal);
        } catch (err) {
            showErrors(add, { ...err, field: err.field && err.field.replace(/^\[0\]\./, "") });
        }
    });
    const probe = h("input", { type: "tel", required: true });
    const answer = h("p", { "aria-live": "polite", id: "dnc-check-answer" });
    const check = h("form", { class: "grid", "aria-label": "Check a number" },
        field("Number to check", probe, "check"),
        h("div", { class: "actions" }, h("button", { type: "submit" }, "Check")), answer);
    check.addEventListener("submit", async (e) => {
        e.preventDefault();
        try {
            const hit = await api("GET", `/v1/dnc/${encodeURIComponent(probe.value)}`);
            answer.textContent = `${hit.phone} is on the list${hit.reason ? ` (${hit.reason})` : ""}.`;
        } catch (err) {
            answer.textContent = err.status === 404 ? `${probe.value} is not on the list.` : err.message;
        }
    });
    const remove = async (p) => {
        await api("DELETE", `/v1/dnc/${encodeURIComponent(p)}`);
        announce(`${p} removed`);
        render(main, _params, signal);
    };
    put(main,
        h("h1", {}, "Do not call"),
        h("h2", {}, "Add"), add,
        h("h2", {}, "Check"), check,
        h("h2", {}, `On the list (${list.length})`),
        list.length ? table("Do-not-call numbers", [
            { label: "Number", value: (d) => d.phone },
            { label: "Reason", value: (d) => d.reason || "" },
            { label: "Added", value: (d) => when(d.created_at) },
            { label: "", value: (d) => h("button", { type: "button", class: "danger", "aria-label": `Remove ${d.phone}`, onclick: () => remove(d.phone) }, "Remove") },
        ], list) : h("p", { class: "muted" }, "The list is empty."));
}
