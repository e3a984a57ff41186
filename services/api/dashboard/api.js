// api.js — every call the dashboard makes goes through here, to the public
// REST API (docs/api.md) with the API key the user signed in with. The key
// lives in sessionStorage only: gone when the tab closes.

const KEY = "outdial.api_key";

export const auth = {
    get key() { return sessionStorage.getItem(KEY); },
    set(key) { sessionStorage.setItem(KEY, key); },
    clear() { sessionStorage.removeItem(KEY); },
};

// The API's error answer, {"error": {code, message, field, problems}}.
export class ApiError extends Error {
    constructor(status, error) {
        super(error.message || `HTTP ${status}`);
        this.status = status;
        this.code = error.code;
        this.field = error.field;
        this.problems = error.problems || [];
    }
}

function headers(extra = {}) {
    return { Authorization: `Bearer ${auth.key}`, ...extra };
}

async function answer(res) {
    const text = await res.text();
    const body = text ? JSON.parse(text) : null;
    if (!res.ok) {
        if (res.status === 401) window.dispatchEvent(new Event("outdial:signed-out"));
        throw new ApiError(res.status, (body && body.error) || {});
    }
    return body;
}

// A JSON request; resolves to the parsed answer, rejects with ApiError.
export async function api(method, path, body) {
    const init = { method, headers: headers() };
    if (body !== undefined) {
        init.headers["Content-Type"] = "application/json";
        init.body = JSON.stringify(body);
    }
    return answer(await fetch(path, init));
}

// Every page of a list (follows next_cursor), up to max items.
export async function apiAll(path, max = 1000) {
    const items = [];
    let cursor = null;
    do {
        const sep = path.includes("?") ? "&" : "?";
        const page = await api("GET", `${path}${sep}limit=100${cursor ? `&cursor=${cursor}` : ""}`);
        items.push(...page.data);
        cursor = page.next_cursor;
    } while (cursor && items.length < max);
    return items;
}

// A file download with the key (a plain link cannot send it).
export async function download(path, filename) {
    const res = await fetch(path, { headers: headers() });
    if (!res.ok) return answer(res);
    const url = URL.createObjectURL(await res.blob());
    const a = Object.assign(document.createElement("a"), { href: url, download: filename });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
}

// Uploads a CSV file; onProgress(fraction) as it goes. XMLHttpRequest, not
// fetch: only it reports upload progress.
export function upload(path, file, onProgress) {
    return new Promise((resolve, reject) => {
        const xhr = new XMLHttpRequest();
        xhr.open("POST", path);
        xhr.setRequestHeader("Authorization", `Bearer ${auth.key}`);
        xhr.setRequestHeader("Content-Type", "text/csv");
        xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
        xhr.onload = () => {
            const body = xhr.responseText ? JSON.parse(xhr.responseText) : {};
            if (xhr.status >= 200 && xhr.status < 300) resolve(body);
            else reject(new ApiError(xhr.status, body.error || {}));
        };
        xhr.onerror = () => reject(new ApiError(0, { message: "the upload failed (network)" }));
        xhr.send(file);
    });
}

// Reads GET /v1/campaigns/{id}/live (server-sent events) with fetch, which
// can send the key, unlike EventSource. Calls onEvent(name, data) per
// event; reconnects after an end or a failure until signal aborts.
export async function live(campaignId, onEvent, signal) {
    while (!signal.aborted) {
        try {
            const res = await fetch(`/v1/campaigns/${campaignId}/live`, { headers: headers(), signal });
            if (!res.ok) await answer(res);
            const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
            let buf = "";
            for (;;) {
                const { value, done } = await reader.read();
                if (done) break;
                buf += value;
                let end;
                while ((end = buf.indexOf("\n\n")) >= 0) {
                    const block = buf.slice(0, end);
                    buf = buf.slice(end + 2);
                    const name = (block.match(/^event: (.*)$/m) || [])[1];
                    const data = (block.match(/^data: (.*)$/m) || [])[1];
                    if (name) onEvent(name, data ? JSON.parse(data) : null);
                }
            }
        } catch (e) {
            if (signal.aborted) return;
            if (e instanceof ApiError && e.status === 404) return;
        }
        // The API stopped, or refused (503 over its cap): try again shortly.
        await new Promise((r) => setTimeout(r, 3000));
    }
}
