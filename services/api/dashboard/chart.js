// chart.js — calls placed, answered and reaching the goal per hour, drawn
// as SVG bars, three per hour (no library). Hours are campaign time, UTC.

import { h } from "./ui.js";

const SVG = "http://www.w3.org/2000/svg";
const SERIES = [["placed", "#1f6feb"], ["answered", "#1a7f37"], ["goals", "#bf3989"]];
const W = 720, H = 240, PAD = { l: 44, r: 12, t: 12, b: 28 };

function s(tag, attrs, text) {
    const el = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
    if (text !== undefined) el.textContent = text;
    return el;
}

// hours: [{hour, placed, answered, goals}] oldest first. The legend's colours
// are app.css's (.legend .placed ...): the page allows no inline style.
export function hourlyChart(hours) {
    const wrap = h("figure", { class: "chart" });
    const caption = h("figcaption", { class: "legend" },
        SERIES.map(([name]) => h("span", { class: name }, name)));
    if (!hours.length) {
        wrap.append(h("p", { class: "muted" }, "No calls yet."));
        return wrap;
    }
    const max = Math.max(1, ...hours.map((x) => x.placed));
    const slot = (W - PAD.l - PAD.r) / hours.length;
    const bar = Math.max(1, (slot * 0.8) / SERIES.length);
    const y = (v) => H - PAD.b - (v * (H - PAD.t - PAD.b)) / max;
    const total = (k) => hours.reduce((n, x) => n + x[k], 0);
    const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, role: "img",
        "aria-label": `Calls per hour over ${hours.length} hours: ${total("placed")} placed, ` +
            `${total("answered")} answered, ${total("goals")} reached the goal` });
    for (const v of [0, max / 2, max]) {
        svg.append(s("line", { x1: PAD.l, x2: W - PAD.r, y1: y(v), y2: y(v), stroke: "#d0d7de" }));
        svg.append(s("text", { x: PAD.l - 6, y: y(v) + 4, "text-anchor": "end", "font-size": 11 }, Math.round(v)));
    }
    const every = Math.ceil(hours.length / 8);
    hours.forEach((p, i) => {
        const x0 = PAD.l + i * slot + slot * 0.1;
        SERIES.forEach(([name, color], k) => svg.append(s("rect", {
            x: x0 + k * bar, y: y(p[name]), width: bar, height: y(0) - y(p[name]), fill: color })));
        if (i % every) return;
        const d = new Date(p.hour);
        svg.append(s("text", { x: PAD.l + (i + 0.5) * slot, y: H - 8, "text-anchor": "middle", "font-size": 11 },
            `${d.getUTCMonth() + 1}/${d.getUTCDate()} ${String(d.getUTCHours()).padStart(2, "0")}:00`));
    });
    wrap.append(svg, caption);
    return wrap;
}
