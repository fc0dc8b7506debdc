/* libFuzzer harness: profile-generic buffers to typed columns
 * (csrc/columns_decode.c, dm_columns_decode) and back
 * (csrc/columns_encode.c, dm_columns_encode; dm_axdr_pack_rows).
 *
 * Input, either
 * - an A-XDR array: the layout is inferred from its first row (four variants:
 *   octet-string(12) as octets or as date-times, columns nullable or not),
 *   the date-time unit and sign convention come from the last byte; or
 * - 0xCF, n, then n column specs (kind, tag, nullable/width), then the array:
 *   an arbitrary layout, which mostly does not match the rows.
 * Checks: errors carry an offset inside the input and a row/field inside the
 * layout; decoded columns encode to canonical bytes that decode to the same
 * columns, are a fixed point, match dm_axdr_pack_rows and decode with
 * dm_axdr_decode to the same program as the input (fuzz_columns_rt.h).
 */
#include "fuzz_columns_rt.h"

static const int64_t UNITS[3] = {1, 1000, 1000000};

static void given_layout(const uint8_t *data, size_t size)
{
    if (size < 2)
        return;
    size_t n = (size_t)(data[1] % 8) + 1;
    if (size < 2 + 3 * n)
        return;
    const uint8_t *spec = data + 2;
    const uint8_t *arr = data + 2 + 3 * n;
    size_t len = size - 2 - 3 * n;
    uint8_t *in = fz_dup(arr, len);
    size_t p = 1;
    uint64_t count;
    if (len < 2 || !fz_length(in, len, &p, &count) || count > len) {
        free(in);
        return;
    }
    size_t rows = (size_t)count;
    fz_layout lay;
    memset(&lay, 0, sizeof lay);
    lay.rows = rows;
    lay.ncols = n;
    int flags = DM_COLUMNS_WHOLE | ((spec[0] & 0x80) ? DM_COLUMNS_BARE : 0) | ((spec[0] & 0x40) ? DM_COLUMNS_REVERSED_SIGN : 0);
    for (size_t k = 0; k < n; k++) {
        dm_colspec *c = &lay.cols[k];
        c->kind = spec[3 * k] % 15; /* 0 (no kind) .. DM_COL_DATETIME */
        c->tag = spec[3 * k + 1];
        c->nullable = spec[3 * k + 2] & 1;
        c->width = c->kind == DM_COL_FIXED_OCTETS ? (uint32_t)(spec[3 * k + 2] >> 1) : 0;
        c->values = fz_alloc((rows + 1) * 8 + len);
        c->capacity = (rows + 1) * 8 + len - (spec[3 * k + 2] >> 4); /* sometimes short */
        c->offsets = fz_alloc((rows + 1) * sizeof(int64_t));
        c->valid = c->nullable ? fz_alloc(rows + 1) : NULL;
        c->deviation = fz_alloc((rows + 1) * sizeof(int16_t));
        c->status = fz_alloc(rows + 1);
    }
    dm_columns_result res;
    int rc = dm_columns_decode(in, len, 0, rows, lay.cols, n, UNITS[spec[1] % 3], flags, &res);
    if (rc == DM_OK) {
        CHECK(res.end == len);
    } else if (rc != DM_ERR_BAD_ARGUMENT) {
        CHECK(res.err_offset <= len && res.err_row < (int64_t)rows && res.err_field < (int32_t)n);
    }
    fz_layout_free(&lay);
    free(in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size >= 1 && data[0] == 0xCF) {
        given_layout(data, size);
        return 0;
    }
    uint8_t *in = fz_dup(data, size);
    uint8_t last = size ? in[size - 1] : 0;
    int64_t unit = UNITS[last % 3];
    int sign = (last & 0x10) ? DM_COLUMNS_REVERSED_SIGN : 0;
    for (int variant = 0; variant < 4; variant++)
        fz_columns_roundtrip(in, size, variant, unit, DM_COLUMNS_WHOLE | sign);
    /* as a prefix of a longer buffer */
    fz_columns_roundtrip(in, size, 1, unit, sign);
    free(in);
    return 0;
}
