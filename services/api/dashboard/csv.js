// csv.js — a preview of a CSV file in the browser: the delimiter, the
// header, the first rows and the column mapping the importer would use.
// The rules are docs/import.md's; the importer (lib/ingest/lead_map)
// decides for real, this only shows what it will do.

// Default column names per field, in order (docs/import.md, "Column mapping").
export const FIELDS = {
    phone: ["phone", "phone_number", "phonenumber", "number", "mobile", "mobile_number", "mobile_phone",
        "cell", "cell_phone", "cellphone", "telephone", "tel", "msisdn", "primary_phone", "phone_1"],
    name: ["name", "full_name", "fullname", "contact_name", "customer_name"],
    first_name: ["first_name", "firstname", "first", "given_name"],
    last_name: ["last_name", "lastname", "last", "surname", "family_name"],
    email: ["email", "e_mail", "email_address", "mail"],
    timezone: ["timezone", "time_zone", "tz"],
    external_id: ["external_id", "externalid", "crm_id"],
    secondary_phone: ["secondary_phone", "secondary_phone_1", "secondary_number", "alternate_phone", "alt_phone", "other_phone", "phone_2"],
};

// Header names compare ignoring case, spaces and punctuation.
export function normalise(name) {
    return name.toLowerCase().trim().replace(/[^a-z0-9]+/g, "_").replace(/^_|_$/g, "");
}

// The delimiter: comma, semicolon or tab, the most frequent outside quotes
// in the first two lines (Excel's "sep=;" line wins).
export function sniffDelimiter(text) {
    const sep = text.match(/^\uFEFF?sep=(.)\r?\n/);
    if (sep) return sep[1];
    const counts = { ",": 0, ";": 0, "\t": 0 };
    let quoted = false, lines = 0;
    for (const ch of text) {
        if (ch === '"') quoted = !quoted;
        else if (!quoted && ch === "\n" && ++lines === 2) break;
        else if (!quoted && ch in counts) counts[ch]++;
    }
    return Object.entries(counts).sort((a, b) => b[1] - a[1])[0][1] > 0
        ? Object.entries(counts).sort((a, b) => b[1] - a[1])[0][0] : ",";
}

// Rows of text (quotes, "" inside quotes, CRLF/LF/CR), at most max rows.
export function parseRows(text, delimiter, max) {
    const rows = [];
    let row = [], cell = "", quoted = false;
    text = text.replace(/^\uFEFF/, "").replace(/^sep=.\r?\n/, "");
    for (let i = 0; i < text.length && rows.length < max; i++) {
        const ch = text[i];
        if (quoted) {
            if (ch === '"' && text[i + 1] === '"') { cell += '"'; i++; }
            else if (ch === '"') quoted = false;
            else cell += ch;
        } else if (ch === '"') quoted = true;
        else if (ch === delimiter) { row.push(cell.trim()); cell = ""; }
        else if (ch === "\n" || ch === "\r") {
            if (ch === "\r" && text[i + 1] === "\n") i++;
            row.push(cell.trim());
            if (row.some((c) => c !== "")) rows.push(row);
            row = []; cell = "";
        } else cell += ch;
    }
    if ((cell || row.length) && rows.length < max) rows.push([...row, cell.trim()]);
    return rows;
}

// {field: column or null} proposed for a header, as the importer defaults.
export function proposeMapping(header) {
    const byName = new Map(header.map((h) => [normalise(h), h]));
    const out = {};
    for (const [field, names] of Object.entries(FIELDS)) {
        const hit = names.find((n) => byName.has(n));
        out[field] = hit ? byName.get(hit) : null;
    }
    return out;
}
