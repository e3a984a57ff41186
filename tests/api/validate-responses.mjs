#!/usr/bin/env node
// tests/api/validate-responses.mjs — every response the API tests received,
// checked against docs/openapi.yaml.
//
//   node tests/api/validate-responses.mjs SPEC RECORD_DIR
//
// RECORD_DIR holds the *.jsonl files that tests/integration/test_api_support.h
// writes when OUTDIAL_API_RECORD_DIR is set: one response a line (method,
// path, status, content_type, body). For each, the operation is found by
// method and path template, the response by status (else "default"), and a
// JSON body is validated with Ajv against the response's schema (OpenAPI
// 3.0's `nullable` is Ajv's own keyword). Fails, naming the request, when a
// route, a status or a body is not what the spec says; prints a count of
// what it checked, so that an empty record cannot pass silently.
import fs from "node:fs";
import path from "node:path";
import Ajv from "ajv";
import addFormats from "ajv-formats";
import YAML from "yaml";

const [specPath, recordDir] = process.argv.slice(2);
if (!specPath || !recordDir) {
    console.error("usage: validate-responses.mjs SPEC RECORD_DIR");
    process.exit(2);
}
const spec = YAML.parse(fs.readFileSync(specPath, "utf8"));
const ajv = new Ajv({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema({ components: spec.components }, "spec");

// "#/components/x/Y" refs point into the "spec" schema; responses are resolved by hand.
function rebase(node) {
    if (Array.isArray(node)) return node.map(rebase);
    if (node && typeof node === "object") {
        const out = {};
        for (const [k, v] of Object.entries(node))
            out[k] = k === "$ref" && typeof v === "string" && v.startsWith("#/") ? "spec" + v : rebase(v);
        return out;
    }
    return node;
}
function deref(node) {
    while (node && node.$ref) {
        const parts = node.$ref.replace(/^#\//, "").split("/");
        node = parts.reduce((o, p) => o[p], spec);
    }
    return node;
}

const routes = Object.entries(spec.paths).map(([template, item]) => ({
    template,
    re: new RegExp("^" + template.replace(/\{[^}]+\}/g, "[^/]+") + "$"),
    item,
    literal: template.split("/").filter((s) => s && !s.startsWith("{")).length,
}));
// The most literal template wins (/v1/campaigns/{id}/start before /v1/campaigns/{id}).
routes.sort((a, b) => b.literal - a.literal);

const validators = new Map();
function validatorFor(key, schema) {
    if (!validators.has(key)) validators.set(key, ajv.compile(rebase(schema)));
    return validators.get(key);
}

const files = fs.existsSync(recordDir) ? fs.readdirSync(recordDir).filter((f) => f.endsWith(".jsonl")) : [];
let checked = 0, bodies = 0;
const problems = [];
const seen = new Set();
for (const file of files) {
    for (const line of fs.readFileSync(path.join(recordDir, file), "utf8").split("\n")) {
        if (!line) continue;
        const rec = JSON.parse(line);
        checked++;
        const urlPath = rec.path.split("?")[0];
        const what = `${rec.method} ${rec.path} -> ${rec.status}`;
        const route = routes.find((r) => r.re.test(urlPath));
        const op = route && route.item[rec.method.toLowerCase()];
        if (!op) {
            // A method the route lacks must be answered 405; an unknown path 404.
            if (route ? rec.status !== 405 : rec.status !== 404)
                problems.push(`${what}: no operation in the spec`);
            continue;
        }
        const responses = op.responses || {};
        const resp = deref(responses[String(rec.status)] || responses.default);
        if (!resp) {
            problems.push(`${what}: status ${rec.status} is not among ${route.template}'s responses (${Object.keys(responses).join(", ")})`);
            continue;
        }
        const media = resp.content && (resp.content["application/json"] || null);
        if (!media || !media.schema || !rec.content_type.startsWith("application/json")) continue;
        if (rec.body === null || rec.body === "") {
            problems.push(`${what}: empty body where the spec gives JSON`);
            continue;
        }
        let body;
        try {
            body = JSON.parse(rec.body);
        } catch (e) {
            problems.push(`${what}: body is not JSON: ${e.message}`);
            continue;
        }
        const key = `${route.template} ${rec.method} ${rec.status}`;
        const validate = validatorFor(key, media.schema);
        bodies++;
        if (!validate(body)) {
            const errs = validate.errors.map((e) => `${e.instancePath || "/"} ${e.message}`).join("; ");
            const sig = `${key}: ${errs}`;
            if (!seen.has(sig)) {
                seen.add(sig);
                problems.push(`${what}: ${errs}\n    body: ${rec.body.slice(0, 300)}`);
            }
        }
    }
}
console.log(`validate-responses: ${checked} responses from ${files.length} files, ${bodies} JSON bodies checked against ${specPath}`);
if (checked === 0) {
    console.error("validate-responses: no recorded responses (did the API tests run with OUTDIAL_API_RECORD_DIR?)");
    process.exit(1);
}
for (const p of problems) console.error(p);
if (problems.length) {
    console.error(`validate-responses: ${problems.length} response(s) differ from the spec`);
    process.exit(1);
}
