/*
 * fuzz_csv — the lead file path of an import: bytes through the streaming
 * CSV reader (fed in pieces whose sizes come from the input, as a socket
 * would split them), the header into lead_map_new, every data row into
 * lead_map_row. Small row and field limits so that the limit paths run on
 * small inputs.
 *
 * Input: byte 0 selects options (bit 0-1 delimiter: sniff , ; tab;
 * bit 2 small limits; bit 3 region "GB" instead of "US"; bits 4-7 the feed
 * chunk size - 1); the rest is the file.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "csv_reader.h"
#include "lead_map.h"

typedef struct fuzz_import {
    lead_map_t *map;
    lead_map_ctx_t *ctx;
    const char *region;
} fuzz_import_t;

static int on_row(const csv_row_t *row, void *arg)
{
    fuzz_import_t *imp = arg;
    char err[256];
    if (row->header) {
        if (row->too_long || row->bad_utf8_field >= 0 || imp->map)
            return 0;
        if (lead_map_new(row->fields, row->lens, row->n_fields, NULL, &imp->map, err,
                         sizeof(err)) != OD_OK)
            imp->map = NULL;
        if (imp->map) {
            char *desc = lead_map_describe(imp->map);
            free(desc);
        }
        return 0;
    }
    if (!imp->map)
        return 0;
    lead_map_input_t in = {
        .fields = row->fields,
        .lens = row->lens,
        .n_fields = row->n_fields,
        .bad_utf8_field = row->bad_utf8_field,
        .too_long = row->too_long,
        .unclosed_quote = row->unclosed_quote,
    };
    lead_map_row_t out;
    (void)lead_map_row(imp->map, imp->ctx, imp->region, &in, &out);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const char delimiters[] = {0, ',', ';', '\t'};
    uint8_t opts_byte = data[0];
    data++;
    size--;

    csv_reader_opts_t opts = {
        .delimiter = delimiters[opts_byte & 3],
        .header = true,
    };
    if (opts_byte & 4) {
        opts.row_max = 64;
        opts.field_max = 128;
    }
    fuzz_import_t imp = {
        .ctx = lead_map_ctx_new(),
        .region = (opts_byte & 8) ? "GB" : "US",
    };
    size_t chunk = (size_t)(opts_byte >> 4) + 1;
    char err[256];
    csv_reader_t *r = NULL;
    if (csv_reader_new(&opts, on_row, &imp, &r, err, sizeof(err)) != OD_OK)
        goto out;
    int rc = OD_OK;
    for (size_t off = 0; off < size && rc == OD_OK; off += chunk) {
        size_t n = size - off < chunk ? size - off : chunk;
        rc = csv_reader_feed(r, data + off, n, err, sizeof(err));
    }
    if (rc == OD_OK)
        (void)csv_reader_finish(r, err, sizeof(err));
out:
    csv_reader_free(r);
    lead_map_free(imp.map);
    lead_map_ctx_free(imp.ctx);
    return 0;
}
