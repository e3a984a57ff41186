// app.js — sign-in, the hash router and the page frame. Each page is a
// module with render(main, params, signal): signal aborts when the user
// leaves the page (live streams and polls stop with it).

import { api, auth } from "./api.js";
import { h, field, showErrors, put } from "./ui.js";
import * as campaigns from "./campaigns.js";
import * as campaign from "./campaign.js";
import * as leads from "./leads.js";
import * as lead from "./lead.js";
import * as importer from "./import.js";
import * as dnc from "./dnc.js";

const routes = [
    [/^#\/campaigns\/([0-9a-f-]{36})\/leads$/, leads],
    [/^#\/campaigns\/([0-9a-f-]{36})\/import$/, importer],
    [/^#\/campaigns\/([0-9a-f-]{36})$/, campaign],
    [/^#\/leads\/([0-9a-f-]{36})$/, lead],
    [/^#\/dnc$/, dnc],
    [/^(#\/campaigns)?$/, campaigns],
];

const main = document.getElementById("main");
const nav = document.querySelector("header nav");
let leaving = null;

function signIn() {
    nav.hidden = true;
    const key = h("input", { type: "password", autocomplete: "off", required: true, spellcheck: "false" });
    const form = h("form", { class: "grid", "aria-label": "Sign in" },
        field("API key", key, "api_key", "From outdial-api bootstrap (od_...); kept in this tab only."),
        h("div", { class: "actions" }, h("button", { class: "primary", type: "submit" }, "Sign in"),
            h("span", { class: "error form-summary" })));
    form.addEventListener("submit", async (e) => {
        e.preventDefault();
        auth.set(key.value.trim());
        try {
            await api("GET", "/v1/account");
            route();
        } catch (err) {
            auth.clear();
            showErrors(form, { field: "api_key", message: err.status === 401 ? "This key is not valid." : err.message });
        }
    });
    put(main, h("h1", {}, "Sign in"), form);
    key.focus();
}

async function route() {
    if (leaving) leaving.abort();
    leaving = new AbortController();
    if (!auth.key) return signIn();
    nav.hidden = false;
    const path = location.hash.split("?")[0];
    const params = new URLSearchParams(location.hash.split("?")[1] || "");
    for (const [re, page] of routes) {
        const m = path.match(re);
        if (!m) continue;
        put(main, h("p", { class: "muted" }, "Loading…"));
        try {
            await page.render(main, { id: m[1], query: params }, leaving.signal);
        } catch (err) {
            if (leaving.signal.aborted) return;
            put(main, h("h1", {}, "Something went wrong"), h("p", { class: "error" }, err.message));
        }
        main.focus();
        return;
    }
    put(main, h("h1", {}, "Not found"), h("p", {}, h("a", { href: "#/campaigns" }, "Campaigns")));
}

document.getElementById("sign-out").addEventListener("click", () => {
    auth.clear();
    location.hash = "";
    route();
});
window.addEventListener("outdial:signed-out", () => { auth.clear(); route(); });
window.addEventListener("hashchange", route);
route();
