/* Shared helpers of the libFuzzer harnesses in tests/fuzz/ (issue 7).
 *
 * Every harness is one C file compiled together with the csrc/ C sources; it defines
 * LLVMFuzzerTestOneInput and checks, besides "no crash, no sanitizer report",
 * the invariants of its entry point with CHECK(), which aborts (a libFuzzer
 * finding) with the file, line and condition.  The C test driver
 * (test_core.c) compiles the same files with LLVMFuzzerTestOneInput renamed,
 * to replay the committed corpora under ASan/UBSan and valgrind.
 */
#ifndef DLMSMESH_FUZZ_COMMON_H
#define DLMSMESH_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlmsmesh.h"

#define CHECK(cond)                                                                       \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                      \
        }                                                                                 \
    } while (0)

/* malloc that never returns NULL for 0 bytes (and gives ASan an exact-size block) */
static inline void *fz_alloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    CHECK(p != NULL);
    return p;
}

/* A copy of the input in an exactly sized heap block, so that ASan sees any
 * read past its end (libFuzzer's own buffer is exact too; the replay driver
 * is not always). */
static inline uint8_t *fz_dup(const uint8_t *data, size_t size)
{
    uint8_t *p = fz_alloc(size);
    if (size)
        memcpy(p, data, size);
    else
        p[0] = 0; /* (the block has one byte) */
    return p;
}

/* ------------------------------------------------------------------------
 * A checker of the pickle programs dm_axdr_decode / dm_apdu_decode write:
 * PROTO 4, one FRAME holding the rest, known opcodes with in-bounds
 * arguments, a stack discipline that leaves exactly one object, and memo
 * indices only of the slots the loaders fill.  A program that passes is one
 * the C unpickler accepts without error (given a primed memo).
 * ------------------------------------------------------------------------ */
static inline uint32_t fz_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline int fz_memo_ok(uint32_t idx)
{
    if (idx <= DM_MEMO_CLASS_BASE + DM_MEMO_CLASS_LAST_TAG)
        return 1; /* the four special slots and the data-tag classes (0..33, the delta types last) */
    if (idx >= DM_MEMO_CACHE_BASE && idx < DM_MEMO_CACHE_BASE + 4 * 256)
        return 1;
    if (idx >= DM_MEMO_APDU_BASE && idx < DM_MEMO_APDU_BASE + 4)
        return 1;
    if (idx >= DM_MEMO_FIELD_BASE && idx < DM_MEMO_FIELD_BASE + DM_FIELD_COUNT)
        return 1;
    if (idx >= DM_MEMO_PRIORITY_BASE && idx < DM_MEMO_PRIORITY_BASE + 4)
        return 1;
    if (idx >= DM_MEMO_DAR_BASE && idx < DM_MEMO_DAR_BASE + 256)
        return 1;
    return 0;
}

/* Returns 1 when prog[0, len) is a well-formed program. */
static inline int fz_program_ok(const uint8_t *prog, size_t len)
{
    /* stack entries: 0 = object, 1 = mark */
    enum { MAXSTACK = 1 << 16 };
    static uint8_t stack[MAXSTACK];
    size_t sp = 0;
    if (len < 12 || prog[0] != 0x80 || prog[1] != 4 || prog[2] != 0x95)
        return 0;
    uint64_t frame = 0;
    for (int i = 0; i < 8; i++)
        frame |= (uint64_t)prog[3 + i] << (8 * i);
    if (frame != len - 11)
        return 0;
    size_t p = 11;
#define NEED(n)                   \
    do {                          \
        if (len - p < (size_t)(n)) \
            return 0;             \
    } while (0)
#define PUSH(v)                \
    do {                       \
        if (sp >= MAXSTACK)    \
            return 0;          \
        stack[sp++] = (v);     \
    } while (0)
#define POP_OBJ()                          \
    do {                                   \
        if (sp == 0 || stack[sp - 1] != 0) \
            return 0;                      \
        sp--;                              \
    } while (0)
    while (p < len) {
        uint8_t op = prog[p++];
        switch (op) {
        case '.': /* STOP: the last byte, one object on the stack */
            return p == len && sp == 1 && stack[0] == 0;
        case 'N': case 0x88: case 0x89: case ']': case ')': case '}':
            PUSH(0);
            break;
        case 'K':
            NEED(1);
            p += 1;
            PUSH(0);
            break;
        case 'M':
            NEED(2);
            p += 2;
            PUSH(0);
            break;
        case 'J':
            NEED(4);
            p += 4;
            PUSH(0);
            break;
        case 0x8a: { /* LONG1 */
            NEED(1);
            size_t n = prog[p++];
            NEED(n);
            p += n;
            PUSH(0);
            break;
        }
        case 'G':
            NEED(8);
            p += 8;
            PUSH(0);
            break;
        case 'C': case 0x8c: { /* SHORT_BINBYTES, SHORT_BINUNICODE */
            NEED(1);
            size_t n = prog[p++];
            NEED(n);
            p += n;
            PUSH(0);
            break;
        }
        case 'B': case 'X': {
            NEED(4);
            size_t n = fz_le32(prog + p);
            p += 4;
            NEED(n);
            p += n;
            PUSH(0);
            break;
        }
        case 'h':
            NEED(1);
            if (!fz_memo_ok(prog[p]))
                return 0;
            p += 1;
            PUSH(0);
            break;
        case 'j':
            NEED(4);
            if (!fz_memo_ok(fz_le32(prog + p)))
                return 0;
            p += 4;
            PUSH(0);
            break;
        case '(':
            PUSH(1);
            break;
        case 'e': case 't': case 'u': { /* APPENDS, TUPLE, SETITEMS: pop to mark */
            size_t k = 0;
            while (sp > 0 && stack[sp - 1] == 0) {
                sp--;
                k++;
            }
            if (sp == 0)
                return 0;
            sp--; /* the mark */
            if (op == 'u' && k % 2)
                return 0;
            if (op == 't') {
                PUSH(0);
            } else {
                POP_OBJ(); /* the list / dict */
                PUSH(0);
            }
            break;
        }
        case 0x85: /* TUPLE1 */
            POP_OBJ();
            PUSH(0);
            break;
        case 0x86: /* TUPLE2 */
            POP_OBJ();
            POP_OBJ();
            PUSH(0);
            break;
        case 0x81: case 'R': case 'b': /* NEWOBJ, REDUCE, BUILD: two -> one */
            POP_OBJ();
            POP_OBJ();
            PUSH(0);
            break;
        default:
            return 0;
        }
    }
#undef NEED
#undef PUSH
#undef POP_OBJ
    return 0; /* no STOP */
}

/* ------------------------------------------------------------------------
 * Column layouts inferred from the first row of an A-XDR array (as the
 * Python side's inference does, in a simpler form), for the columns harness
 * and the A-XDR round trip through dm_columns_encode / dm_axdr_pack_rows.
 * ------------------------------------------------------------------------ */
#define FZ_MAX_COLS 16

typedef struct {
    size_t rows, ncols, header; /* header: offset of the first row */
    int flags;                  /* DM_COLUMNS_BARE or 0 */
    dm_colspec cols[FZ_MAX_COLS];
} fz_layout;

/* An A-XDR length at in[*p] (no bound beyond in_len); 0 on failure. */
static inline int fz_length(const uint8_t *in, size_t in_len, size_t *p, uint64_t *v)
{
    if (*p >= in_len)
        return 0;
    uint8_t b = in[*p];
    if (b < 0x80) {
        *v = b;
        *p += 1;
        return 1;
    }
    size_t n = b & 0x7F;
    if (n == 0 || n > 4 || n > in_len - *p - 1)
        return 0;
    uint64_t x = 0;
    for (size_t i = 1; i <= n; i++)
        x = x << 8 | in[*p + i];
    *v = x;
    *p += 1 + n;
    return 1;
}

/* The column kind of a Data tag (0: none); octet-string 9 as DATETIME when
 * it is 12 octets and datetime_octets is set. */
static inline int fz_kind_of(const uint8_t *in, size_t in_len, size_t at, int datetime_octets, uint32_t *width)
{
    *width = 0;
    switch (in[at]) {
    case 3: return DM_COL_BOOL;
    case 5: return DM_COL_I32;
    case 6: return DM_COL_U32;
    case 13: case 17: case 22: return DM_COL_U8;
    case 15: case 28: return DM_COL_I8;
    case 16: case 29: return DM_COL_I16;
    case 18: case 32: return DM_COL_U16;
    case 30: return DM_COL_I32;
    case 31: return DM_COL_U8;
    case 33: return DM_COL_U32;
    case 20: return DM_COL_I64;
    case 21: return DM_COL_U64;
    case 23: return DM_COL_F32;
    case 24: return DM_COL_F64;
    case 25: return DM_COL_DATETIME;
    case 26: *width = 5; return DM_COL_FIXED_OCTETS;
    case 27: *width = 4; return DM_COL_FIXED_OCTETS;
    case 9:
        if (datetime_octets && at + 1 < in_len && in[at + 1] == 12)
            return DM_COL_DATETIME;
        return DM_COL_OCTETS;
    case 10: return DM_COL_OCTETS;
    default: return 0;
    }
}

/* Infer a layout from the array at in[0]; fills lay and allocates the column
 * buffers (fz_layout_free releases them).  variant bits: 1 = octet-string(12)
 * fields as date-times, 2 = every column nullable.  0 when no layout fits. */
static inline int fz_layout_infer(const uint8_t *in, size_t in_len, int variant, fz_layout *lay)
{
    size_t p = 0;
    uint64_t count;
    memset(lay, 0, sizeof *lay);
    if (in_len < 2 || in[0] != 1)
        return 0;
    p = 1;
    if (!fz_length(in, in_len, &p, &count) || count == 0 || count > in_len)
        return 0;
    lay->rows = (size_t)count;
    lay->header = p;
    if (p >= in_len)
        return 0;
    size_t ats[FZ_MAX_COLS];
    size_t ncols = 0;
    if (in[p] == 2) {
        uint64_t n;
        size_t q = p + 1;
        if (!fz_length(in, in_len, &q, &n) || n == 0 || n > FZ_MAX_COLS)
            return 0;
        /* field tags of the first row: walk simple fields only */
        for (size_t k = 0; k < n; k++) {
            if (q >= in_len)
                return 0;
            ats[ncols++] = q;
            uint32_t w;
            int kind = fz_kind_of(in, in_len, q, variant & 1, &w);
            if (in[q] == 0) {
                q += 1;
                continue;
            }
            if (kind == 0)
                return 0;
            size_t sz;
            if (kind == DM_COL_OCTETS || (kind == DM_COL_DATETIME && in[q] == 9)) {
                size_t r = q + 1;
                uint64_t len;
                if (!fz_length(in, in_len, &r, &len) || len > in_len - r)
                    return 0;
                sz = (r - q) + (size_t)len;
            } else {
                static const uint8_t FIXED[34] = {[3] = 1, [5] = 4, [6] = 4, [13] = 1, [15] = 1, [16] = 2,
                                                  [17] = 1, [18] = 2, [20] = 8, [21] = 8, [22] = 1, [23] = 4,
                                                  [24] = 8, [25] = 12, [26] = 5, [27] = 4, [28] = 1, [29] = 2,
                                                  [30] = 4, [31] = 1, [32] = 2, [33] = 4};
                sz = 1 + FIXED[in[q]];
            }
            if (sz > in_len - q)
                return 0;
            q += sz;
        }
    } else {
        ats[ncols++] = p;
        lay->flags = DM_COLUMNS_BARE;
    }
    lay->ncols = ncols;
    size_t rows = lay->rows;
    for (size_t k = 0; k < ncols; k++) {
        dm_colspec *c = &lay->cols[k];
        uint32_t w;
        int kind = in[ats[k]] == 0 ? DM_COL_U8 : fz_kind_of(in, in_len, ats[k], variant & 1, &w);
        if (kind == 0)
            return 0;
        c->kind = kind;
        c->tag = in[ats[k]] == 0 ? 17 : in[ats[k]];
        c->nullable = (variant & 2) || in[ats[k]] == 0;
        c->width = kind == DM_COL_FIXED_OCTETS ? w : 0;
        c->values = fz_alloc((rows + 1) * 8);
        if (kind == DM_COL_OCTETS || kind == DM_COL_FIXED_OCTETS) {
            c->capacity = in_len;
            free(c->values);
            c->values = fz_alloc(in_len + 1);
            c->offsets = fz_alloc((rows + 1) * sizeof(int64_t));
        }
        if (c->nullable)
            c->valid = fz_alloc(rows + 1);
        if (kind == DM_COL_DATETIME) {
            c->deviation = fz_alloc((rows + 1) * sizeof(int16_t));
            c->status = fz_alloc(rows + 1);
        }
    }
    return 1;
}

static inline void fz_layout_free(fz_layout *lay)
{
    for (size_t k = 0; k < lay->ncols; k++) {
        dm_colspec *c = &lay->cols[k];
        free(c->values);
        free(c->offsets);
        free(c->valid);
        free(c->deviation);
        free(c->status);
    }
    lay->ncols = 0;
}

/* A second layout with the same columns and fresh buffers. */
static inline void fz_layout_clone(const fz_layout *src, size_t in_len, fz_layout *dst)
{
    *dst = *src;
    size_t rows = src->rows;
    for (size_t k = 0; k < src->ncols; k++) {
        dm_colspec *c = &dst->cols[k];
        int octets = c->kind == DM_COL_OCTETS || c->kind == DM_COL_FIXED_OCTETS;
        c->values = fz_alloc(octets ? in_len + 1 : (rows + 1) * 8);
        c->capacity = octets ? in_len : 0;
        c->offsets = octets ? fz_alloc((rows + 1) * sizeof(int64_t)) : NULL;
        c->valid = c->nullable ? fz_alloc(rows + 1) : NULL;
        c->deviation = c->kind == DM_COL_DATETIME ? fz_alloc((rows + 1) * sizeof(int16_t)) : NULL;
        c->status = c->kind == DM_COL_DATETIME ? fz_alloc(rows + 1) : NULL;
    }
}

static inline size_t fz_value_size(int kind)
{
    switch (kind) {
    case DM_COL_U8: case DM_COL_I8: case DM_COL_BOOL: return 1;
    case DM_COL_U16: case DM_COL_I16: return 2;
    case DM_COL_U32: case DM_COL_I32: case DM_COL_F32: return 4;
    default: return 8; /* 64-bit numbers, float64, date-time epochs */
    }
}

/* Whether two decoded layouts hold the same rows (null rows compare as null). */
static inline int fz_columns_equal(const fz_layout *a, const fz_layout *b)
{
    for (size_t k = 0; k < a->ncols; k++) {
        const dm_colspec *x = &a->cols[k], *y = &b->cols[k];
        for (size_t r = 0; r < a->rows; r++) {
            int present = !x->nullable || x->valid[r];
            if (x->nullable && x->valid[r] != y->valid[r])
                return 0;
            if (!present)
                continue;
            if (x->kind == DM_COL_OCTETS || x->kind == DM_COL_FIXED_OCTETS) {
                int64_t n = x->offsets[r + 1] - x->offsets[r];
                if (n != y->offsets[r + 1] - y->offsets[r])
                    return 0;
                if (memcmp((const uint8_t *)x->values + x->offsets[r], (const uint8_t *)y->values + y->offsets[r],
                           (size_t)n) != 0)
                    return 0;
                continue;
            }
            size_t s = fz_value_size(x->kind);
            if (memcmp((const uint8_t *)x->values + r * s, (const uint8_t *)y->values + r * s, s) != 0)
                return 0;
            if (x->kind == DM_COL_DATETIME && (x->deviation[r] != y->deviation[r] || x->status[r] != y->status[r]))
                return 0;
        }
    }
    return 1;
}

#endif
