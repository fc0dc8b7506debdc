/* The C-side round trip of an A-XDR array of uniform rows, shared by
 * fuzz_axdr.c and fuzz_columns.c:
 *
 *   bytes --dm_columns_decode--> columns --dm_columns_encode--> canonical bytes
 *         --dm_columns_decode--> the same columns (value for value)
 *
 * and, where the layout allows it, the two other C paths must agree with the
 * canonical bytes: dm_axdr_pack_rows writes exactly them (no null-data, no
 * date-time columns), and dm_axdr_decode gives the very same pickle program
 * for the original and the canonical bytes (no date-time columns: those keep
 * an epoch, not the 12 octets).
 */
#ifndef DLMSMESH_FUZZ_COLUMNS_RT_H
#define DLMSMESH_FUZZ_COLUMNS_RT_H

#include "fuzz_common.h"

/* dm_axdr_decode into a growing buffer; returns rc, *prog (malloc'd, caller
 * frees) and the result. */
static inline int fz_axdr_program(const uint8_t *in, size_t in_len, size_t offset, int max_depth, int flags,
                                  uint8_t **prog, dm_decode_result *res)
{
    size_t cap = 64 + 4 * in_len;
    for (;;) {
        uint8_t *out = fz_alloc(cap);
        int rc = dm_axdr_decode(in, in_len, offset, max_depth, flags, out, cap, res);
        if (rc != DM_ERR_NO_SPACE) {
            *prog = out;
            return rc;
        }
        free(out);
        /* a program is never larger than 16 bytes per input byte (bit-strings: 8) plus a header */
        CHECK(cap < 64 + 32 * (in_len + 1));
        cap *= 2;
    }
}

static inline int fz_has_kind(const fz_layout *lay, int kind)
{
    for (size_t k = 0; k < lay->ncols; k++)
        if (lay->cols[k].kind == kind)
            return 1;
    return 0;
}

static inline int fz_has_nullable(const fz_layout *lay)
{
    for (size_t k = 0; k < lay->ncols; k++)
        if (lay->cols[k].nullable)
            return 1;
    return 0;
}

/* Decode the array at in[0] with an inferred layout and check the round trip. */
static inline void fz_columns_roundtrip(const uint8_t *in, size_t in_len, int variant, int64_t unit, int extra_flags)
{
    fz_layout a, b;
    dm_columns_result res, res2, er;
    if (!fz_layout_infer(in, in_len, variant, &a)) {
        fz_layout_free(&a);
        return;
    }
    int flags = a.flags | extra_flags;
    int rc = dm_columns_decode(in, in_len, 0, a.rows, a.cols, a.ncols, unit, flags, &res);
    if (rc != DM_OK) {
        CHECK(rc < 0);
        CHECK(res.err_offset <= in_len);
        CHECK(res.err_row < (int64_t)a.rows);
        CHECK(res.err_field < (int32_t)a.ncols);
        fz_layout_free(&a);
        return;
    }
    CHECK(res.end <= in_len);
    if (flags & DM_COLUMNS_WHOLE)
        CHECK(res.end == in_len);

    int eflags = flags & ~DM_COLUMNS_WHOLE;
    int64_t n = dm_columns_encode(a.cols, a.ncols, a.rows, unit, eflags, NULL, 0, &er);
    CHECK(n == DM_ERR_NO_SPACE);
    size_t cap = (size_t)er.end;
    uint8_t *buf = fz_alloc(cap);
    n = dm_columns_encode(a.cols, a.ncols, a.rows, unit, eflags, buf, cap, &er);
    CHECK(n == (int64_t)cap);

    fz_layout_clone(&a, cap, &b);
    rc = dm_columns_decode(buf, cap, 0, b.rows, b.cols, b.ncols, unit, flags | DM_COLUMNS_WHOLE, &res2);
    CHECK(rc == DM_OK);
    CHECK(fz_columns_equal(&a, &b));

    /* the canonical bytes are a fixed point */
    uint8_t *buf2 = fz_alloc(cap);
    n = dm_columns_encode(b.cols, b.ncols, b.rows, unit, eflags, buf2, cap, &er);
    CHECK(n == (int64_t)cap && memcmp(buf, buf2, cap) == 0);
    free(buf2);

    if (!fz_has_kind(&a, DM_COL_DATETIME)) {
        /* dm_axdr_decode reads both as the same value */
        uint8_t *p1, *p2;
        dm_decode_result r1, r2;
        int rc1 = fz_axdr_program(in, res.end, 0, 64, DM_DECODE_WHOLE, &p1, &r1);
        int rc2 = fz_axdr_program(buf, cap, 0, 64, DM_DECODE_WHOLE, &p2, &r2);
        CHECK(rc1 == DM_OK && rc2 == DM_OK);
        CHECK(r1.out_len == r2.out_len && memcmp(p1, p2, r1.out_len) == 0);
        free(p1);
        free(p2);

        if (!fz_has_nullable(&a) && a.ncols <= 64) {
            /* dm_axdr_pack_rows writes the same rows */
            dm_column pc[FZ_MAX_COLS];
            uint32_t *lengths[FZ_MAX_COLS] = {0};
            for (size_t k = 0; k < a.ncols; k++) {
                const dm_colspec *c = &a.cols[k];
                pc[k].kind = c->kind;
                pc[k].tag = c->tag;
                pc[k].width = c->width;
                pc[k].values = c->values;
                pc[k].lengths = NULL;
                if (c->kind == DM_COL_OCTETS) {
                    lengths[k] = fz_alloc((a.rows + 1) * sizeof(uint32_t));
                    for (size_t r = 0; r < a.rows; r++)
                        lengths[k][r] = (uint32_t)(c->offsets[r + 1] - c->offsets[r]);
                    pc[k].lengths = lengths[k];
                }
            }
            /* header: 01 + shortest count */
            size_t h = 1 + (a.rows < 0x80 ? 1 : a.rows < 0x100 ? 2 : a.rows < 0x10000 ? 3 : a.rows < 0x1000000 ? 4 : 5);
            CHECK(h <= cap);
            uint8_t row_tag = (flags & DM_COLUMNS_BARE) ? 0 : 2;
            uint8_t *packed = fz_alloc(cap);
            int64_t m = dm_axdr_pack_rows(pc, a.ncols, a.rows, row_tag, packed, cap - h);
            CHECK(m == (int64_t)(cap - h));
            CHECK(memcmp(packed, buf + h, cap - h) == 0);
            if (cap - h > 0) /* one byte short: nothing fits */
                CHECK(dm_axdr_pack_rows(pc, a.ncols, a.rows, row_tag, packed, cap - h - 1) == DM_ERR_NO_SPACE);
            free(packed);
            for (size_t k = 0; k < a.ncols; k++)
                free(lengths[k]);
        }
    }
    free(buf);
    fz_layout_free(&b);
    fz_layout_free(&a);
}

#endif
