/* libFuzzer harness: data-notifications of a decoded batch to push columns
 * (csrc/push_columns.c, dm_push_columns).
 *
 * Input: a layout selector byte, a flags byte, then frames, each a length
 * byte and that many bytes: a plaintext APDU as a decoded batch would hold it.
 * Frame i is plain (its plaintext in the input buffer) or, by the flags,
 * ciphered (plaintext in the plain buffer, and the same bytes read as the
 * ciphered APDU whose system title dm_secure_parse finds), or failed.
 * Checks: the rows written never exceed the frames, a row's frame indexes
 * rise, every outcome is a known code with an offset inside its plaintext and
 * a field inside the layout, offsets of octets columns rise within their
 * capacity.
 */
#include "fuzz_common.h"

#define MAX_FRAMES 64
#define MAX_FIELDS 8

typedef struct {
    size_t nshape;
    uint16_t shape[16];
    size_t ncols;
    struct {
        int32_t kind;
        uint8_t tag, nullable;
        uint32_t width;
    } cols[MAX_FIELDS];
} layout_t;

#define F DM_PUSH_SHAPE_FIELD
static const layout_t LAYOUTS[] = {
    /* bare double-long-unsigned */
    {1, {F}, 1, {{DM_COL_U32, 6, 0, 0}}},
    /* {octet-string date-time, double-long-unsigned, {long, visible-string}} */
    {6, {3, F, F, 2, F, F}, 4, {{DM_COL_DATETIME, 9, 0, 0}, {DM_COL_U32, 6, 0, 0}, {DM_COL_I16, 16, 1, 0}, {DM_COL_OCTETS, 10, 0, 0}}},
    /* {date-time, float64, boolean, unsigned (nullable), date} */
    {6, {5, F, F, F, F, F}, 5,
     {{DM_COL_DATETIME, 25, 1, 0}, {DM_COL_F64, 24, 0, 0}, {DM_COL_BOOL, 3, 0, 0}, {DM_COL_U8, 17, 1, 0},
      {DM_COL_FIXED_OCTETS, 26, 0, 5}}},
    /* {{{long64}}, octet-string} */
    {5, {2, 1, 1, F, F}, 2, {{DM_COL_I64, 20, 0, 0}, {DM_COL_OCTETS, 9, 1, 0}}},
};
#undef F
#define NLAYOUTS (sizeof LAYOUTS / sizeof LAYOUTS[0])

static void setup(dm_colspec *c, int32_t kind, uint8_t tag, uint8_t nullable, uint32_t width, size_t rows, size_t cap)
{
    memset(c, 0, sizeof *c);
    c->kind = kind;
    c->tag = tag;
    c->nullable = nullable;
    c->width = width;
    c->values = fz_alloc(kind == DM_COL_OCTETS || kind == DM_COL_FIXED_OCTETS ? cap : rows * 8);
    c->capacity = cap;
    c->offsets = fz_alloc((rows + 1) * sizeof(int64_t));
    c->valid = fz_alloc(rows);
    c->deviation = fz_alloc(rows * sizeof(int16_t));
    c->status = fz_alloc(rows);
}

static void release(dm_colspec *c)
{
    free(c->values);
    free(c->offsets);
    free(c->valid);
    free(c->deviation);
    free(c->status);
}

static void check_octets(const dm_colspec *c, int64_t rows)
{
    CHECK(c->offsets[0] == 0);
    for (int64_t r = 0; r < rows; r++)
        CHECK(c->offsets[r] <= c->offsets[r + 1] && (uint64_t)c->offsets[r + 1] <= c->capacity);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    const layout_t *lay = &LAYOUTS[data[0] % NLAYOUTS];
    uint8_t flags = data[1];
    uint8_t *in = fz_dup(data, size);
    dm_pipe_item items[MAX_FRAMES];
    size_t n = 0, p = 2, plain_len = 0;
    while (p < size && n < MAX_FRAMES) {
        size_t len = in[p];
        if (len > size - p - 1)
            len = size - p - 1;
        memset(&items[n], 0, sizeof items[n]);
        items[n].base = (uint32_t)(p + 1);
        items[n].plain_len = (uint32_t)len;
        items[n].peer = (uint32_t)(n % 3); /* peer 2: no title known */
        if ((flags >> (n % 8)) & 1) {
            items[n].flags = DM_PIPE_F_CIPHERED;
            items[n].plain = (uint32_t)plain_len;
            items[n].apdu = 0;
            items[n].apdu_len = (uint32_t)len;
            items[n].ic = (uint32_t)n;
            plain_len += len;
        }
        if (len && in[p + 1] == 0xEE)
            items[n].status = DM_ERR_SEC_AUTH;
        p += 1 + len;
        n++;
    }
    uint8_t *plain = fz_alloc(plain_len);
    for (size_t i = 0; i < n; i++)
        if (items[i].flags & DM_PIPE_F_CIPHERED)
            memcpy(plain + items[i].plain, in + items[i].base, items[i].plain_len);
    static const uint8_t titles[16] = "MMM\0\0\0\0\1MMM\0\0\0\0\2";
    static const uint8_t titled[3] = {1, 1, 0};
    dm_push_batch batch = {items, n, in, size, NULL, 0, plain, plain_len, titles, titled, 3};

    size_t rows = n ? n : 1, cap = size + 1;
    dm_colspec meta[DM_PUSH_META], cols[MAX_FIELDS];
    setup(&meta[0], DM_COL_U32, 6, 0, 0, rows, cap);
    setup(&meta[1], DM_COL_OCTETS, 9, 0, 0, rows, 8 * rows);
    setup(&meta[2], DM_COL_U32, 6, 1, 0, rows, cap);
    setup(&meta[3], DM_COL_U32, 6, 0, 0, rows, cap);
    setup(&meta[4], DM_COL_DATETIME, 9, 1, 0, rows, cap);
    for (size_t k = 0; k < lay->ncols; k++)
        setup(&cols[k], lay->cols[k].kind, lay->cols[k].tag, lay->cols[k].nullable, lay->cols[k].width, rows,
              /* sometimes short: the octets columns then fail with no space, never overflow */
              (flags & 0x80) ? cap / 2 : cap);
    int32_t *outcome = fz_alloc(4 * sizeof(int32_t) * rows);
    int64_t got = dm_push_columns(&batch, lay->shape, lay->nshape, meta, cols, lay->ncols, (flags & 0x40) ? 1000 : 1,
                                  (flags & 0x20) ? DM_COLUMNS_REVERSED_SIGN : 0, outcome);
    CHECK(got >= 0 && (size_t)got <= n);
    int64_t taken = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t code = outcome[4 * i], off = outcome[4 * i + 1], field = outcome[4 * i + 2];
        if (code == DM_PUSH_TAKEN) {
            CHECK(((uint32_t *)meta[0].values)[taken] == i);
            taken++;
            continue;
        }
        CHECK(code == DM_PUSH_FAILED || code == DM_PUSH_NOT_NOTIFICATION || code < 0);
        CHECK(off >= 0 && (uint32_t)off <= items[i].plain_len);
        CHECK(field >= -1 && field < (int32_t)lay->ncols);
        CHECK((code == DM_PUSH_FAILED) == (items[i].status != DM_OK));
    }
    CHECK(taken == got);
    check_octets(&meta[1], got);
    for (int64_t r = 0; r < got; r++)
        CHECK(meta[1].offsets[r + 1] - meta[1].offsets[r] == 0 || meta[1].offsets[r + 1] - meta[1].offsets[r] == 8);
    for (size_t k = 0; k < lay->ncols; k++)
        if (cols[k].kind == DM_COL_OCTETS || cols[k].kind == DM_COL_FIXED_OCTETS)
            check_octets(&cols[k], got);
    for (size_t k = 0; k < DM_PUSH_META; k++)
        release(&meta[k]);
    for (size_t k = 0; k < lay->ncols; k++)
        release(&cols[k]);
    free(outcome);
    free(plain);
    free(in);
    return 0;
}
