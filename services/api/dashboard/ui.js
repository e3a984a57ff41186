// ui.js — small DOM helpers the pages share: an element builder, labelled
// form fields, errors shown next to their fields, tables and formatting.

// h("p", {class: "x", onclick: f}, "text", child, ...): an element.
export function h(tag, attrs = {}, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
        if (v === undefined || v === null || v === false) continue;
        if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
        else if (v === true) el.setAttribute(k, "");
        else el.setAttribute(k, v);
    }
    el.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
    return el;
}

let fieldSeq = 0;

// A labelled control with a place for its error: {wrap, input}. The
// control is given its id; attrs go to the control.
export function field(label, control, name, hint) {
    const id = `f-${name}-${++fieldSeq}`;
    control.id = id;
    control.name = name;
    const error = h("span", { class: "error", id: `${id}-error`, "data-error-for": name });
    control.setAttribute("aria-describedby", error.id);
    return h("div", { class: "field" }, h("label", { for: id }, label), control,
        hint ? h("span", { class: "muted" }, hint) : null, error);
}

// Clears a form's field errors, then shows each of the API error's problems
// next to its field (or in the form's summary when it names none).
export function showErrors(form, err) {
    form.querySelectorAll("[data-error-for]").forEach((e) => (e.textContent = ""));
    form.querySelectorAll("[aria-invalid]").forEach((e) => e.removeAttribute("aria-invalid"));
    const summary = form.querySelector(".form-summary");
    if (summary) summary.textContent = "";
    if (!err) return;
    const problems = err.problems && err.problems.length ? err.problems
        : [{ field: err.field, message: err.message }];
    for (const p of problems) {
        const slot = p.field && form.querySelector(`[data-error-for="${p.field}"]`);
        if (slot) {
            slot.textContent = p.message;
            form.querySelector(`[name="${p.field}"]`)?.setAttribute("aria-invalid", "true");
        } else if (summary) {
            summary.textContent += `${p.message} `;
        }
    }
    const first = form.querySelector("[aria-invalid]");
    if (first) first.focus();
}

// A table: columns [{label, value(row) -> node|text, num}].
export function table(caption, columns, rows) {
    return h("table", {},
        h("caption", { class: "sr-only" }, caption),
        h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col", class: c.num ? "num" : null }, c.label)))),
        h("tbody", {}, rows.map((r) => h("tr", {}, columns.map((c) => h("td", { class: c.num ? "num" : null }, c.value(r)))))));
}

// A two-column table of counts ({name: n}), zero rows left out.
export function countTable(caption, counts) {
    const rows = Object.entries(counts || {}).filter(([, n]) => n > 0);
    if (!rows.length) return h("p", { class: "muted" }, `${caption}: none yet`);
    return table(caption, [
        { label: caption, value: ([k]) => k.replaceAll("_", " ") },
        { label: "count", value: ([, n]) => n.toLocaleString(), num: true },
    ], rows);
}

export function money(minor, currency) {
    return new Intl.NumberFormat(undefined, { style: "currency", currency: currency || "USD" })
        .format((minor || 0) / 100);
}

export function percent(x) {
    return x === null || x === undefined ? "–" : `${(x * 100).toFixed(1)} %`;
}

export function when(t) {
    return t ? new Date(t).toLocaleString() : "–";
}

export function badge(status) {
    return h("span", { class: `badge ${status}` }, (status || "").replaceAll("_", " "));
}

// Announces a message to screen readers (the page's live region).
export function announce(text) {
    document.getElementById("status").textContent = text;
}

// Replaces el's children with these (arrays flattened; null, undefined and
// false left out, as h() does).
export function put(el, ...children) {
    el.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
}
