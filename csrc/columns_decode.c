/* A-XDR array of uniform rows -> typed column buffers, in one pass.
 *
 * The caller sizes every buffer from the row count (which the array header
 * gives) and the layout; nothing is allocated here.  Rows of fixed-size
 * fields take a fast path (all rows checked, then each column converted in
 * one loop); anything else, or any mismatch, is walked row by row.  Error
 * offsets and the order of checks follow python/dlmsmesh/_pure/columns.py
 * exactly, so both backends report the same row, field and offset for the
 * same bad input.
 */
#include <string.h>

#include "columns.h"
#include "dlmsmesh.h"

typedef struct {
    const uint8_t *in;
    size_t end;
    dm_columns_result *res;
    int64_t row;
    int32_t field;
} cur_t;

static int fail(cur_t *c, int code, size_t off, int64_t found)
{
    c->res->err_offset = off;
    c->res->err_row = c->row;
    c->res->err_field = c->field;
    c->res->err_found = found < 0 || found > INT32_MAX ? -1 : (int32_t)found;
    return code;
}

/* c->in + p, the reads' (src, end) form (p <= c->end, and c->in is not
 * NULL once a byte at or before p was read) */
static const uint8_t *at(const cur_t *c, size_t p) { return c->in + p; }

/* An A-XDR length at p, after the byte before it was read; errors at p, as
 * the pure read_length reports them. */
static int read_length(cur_t *c, size_t p, uint64_t *value, size_t *next)
{
    const uint8_t *q = at(c, p);
    uint32_t v;
    const int rc = dm_axdr_read_length(&q, at(c, c->end), &v);
    if (rc != DM_OK)
        return fail(c, rc, p, -1);
    *value = v;
    *next = (size_t)(q - c->in);
    return DM_OK;
}


/* copy n content octets at q into an octets column */
static int put_octets(cur_t *c, dm_colspec *col, size_t r, size_t q, uint64_t n)
{
    int64_t at = col->offsets[r];
    if (at < 0 || (uint64_t)at > col->capacity || n > col->capacity - (uint64_t)at)
        return fail(c, DM_ERR_NO_SPACE, q, -1);
    memcpy((uint8_t *)col->values + at, c->in + q, (size_t)n);
    col->offsets[r + 1] = at + (int64_t)n;
    return DM_OK;
}

/* One field at *pos; on success *pos is just after it. */
static int field(cur_t *c, dm_colspec *col, size_t r, size_t *pos, int64_t unit, int flags, col_day_cache *dc)
{
    size_t p = *pos;
    uint8_t tag;
    if (dm_peek_u8(at(c, p), at(c, c->end), &tag) != DM_OK)
        return fail(c, DM_ERR_TRUNCATED, p, -1);
    if (tag != col->tag) {
        if (tag == 0 && col->nullable) {
            col_put_null(col, r);
            *pos = p + 1;
            return DM_OK;
        }
        return fail(c, DM_ERR_COL_FIELD, p, tag);
    }
    if (col->nullable)
        col->valid[r] = 1;
    size_t q = p + 1;
    int size = col_number_size(col->kind);
    if (size > 0) {
        if (!dm_has(at(c, q), at(c, c->end), (size_t)size))
            return fail(c, DM_ERR_TRUNCATED, q, -1);
        col_get_number(c->in + q, col->kind, col->values, r);
        *pos = q + (size_t)size;
        return DM_OK;
    }
    uint64_t n;
    switch (col->kind) {
    case DM_COL_DATETIME:
        if (tag == 9) {
            int rc = read_length(c, q, &n, &q);
            if (rc < 0)
                return rc;
            if (n != 12)
                return fail(c, DM_ERR_COL_WIDTH, p + 1, n > INT32_MAX ? -1 : (int64_t)n);
        }
        if (!dm_has(at(c, q), at(c, c->end), 12))
            return fail(c, DM_ERR_TRUNCATED, q, -1);
        col_put_datetime(col, r, c->in + q, unit, flags, dc);
        *pos = q + 12;
        return DM_OK;
    case DM_COL_FIXED_OCTETS:
        n = col->width;
        break;
    default: { /* DM_COL_OCTETS */
        int rc = read_length(c, q, &n, &q);
        if (rc < 0)
            return rc;
        break;
    }
    }
    if (!dm_has(at(c, q), at(c, c->end), n))
        return fail(c, DM_ERR_TRUNCATED, q, -1);
    int rc = put_octets(c, col, r, q, n);
    if (rc < 0)
        return rc;
    *pos = q + (size_t)n;
    return DM_OK;
}

/* Rows whose fields all have a fixed size: every row is S bytes with the same
 * structure header, tags and date-time lengths at the same places.  Those are
 * checked for all rows first, then each column is converted in a tight loop
 * over the rows.  Returns 0 (nothing decided) when the layout or the bytes are
 * not exactly that; the row walk then decodes them or finds the error. */
static int fast_rows(const uint8_t *in, size_t p, size_t end, size_t rows, dm_colspec *cols, size_t ncols,
                     int64_t unit, int flags, size_t *out_end)
{
    uint16_t check_at[2 + 2 * 127], at[127];
    uint8_t check_value[2 + 2 * 127];
    size_t nchecks = 0, size = 0;
    if (rows == 0 || ncols > 127)
        return 0;
    if (!(flags & DM_COLUMNS_BARE)) {
        check_at[0] = 0, check_value[0] = 2;
        check_at[1] = 1, check_value[1] = (uint8_t)ncols;
        nchecks = size = 2;
    }
    for (size_t k = 0; k < ncols; k++) {
        const dm_colspec *col = &cols[k];
        if (col->nullable || col->kind == DM_COL_OCTETS)
            return 0;
        check_at[nchecks] = (uint16_t)size, check_value[nchecks++] = col->tag;
        size++;
        if (col->kind == DM_COL_DATETIME && col->tag == 9) {
            check_at[nchecks] = (uint16_t)size, check_value[nchecks++] = 12;
            size++;
        }
        at[k] = (uint16_t)size;
        if (col->kind == DM_COL_DATETIME)
            size += 12;
        else if (col->kind == DM_COL_FIXED_OCTETS)
            size += col->width;
        else
            size += (size_t)col_number_size(col->kind);
        if (size > 0xFFFF)
            return 0;
    }
    if (size > (end - p) / rows)
        return 0;
    const uint8_t *base = in + p;
    for (size_t j = 0; j < nchecks; j++) {
        uint8_t bad = 0;
        const uint8_t *b = base + check_at[j], v = check_value[j];
        for (size_t r = 0; r < rows; r++)
            bad |= (uint8_t)(b[r * size] ^ v);
        if (bad)
            return 0;
    }
    for (size_t k = 0; k < ncols; k++) {
        const dm_colspec *col = &cols[k];
        if (col->kind == DM_COL_FIXED_OCTETS && (uint64_t)col->width * rows > col->capacity)
            return 0;
    }
    for (size_t k = 0; k < ncols; k++) {
        dm_colspec *col = &cols[k];
        const uint8_t *b = base + at[k];
        switch (col->kind) {
        case DM_COL_DATETIME: {
            col_day_cache dc = {0, 0};
            for (size_t r = 0; r < rows; r++)
                col_put_datetime(col, r, b + r * size, unit, flags, &dc);
            break;
        }
        case DM_COL_FIXED_OCTETS:
            for (size_t r = 0; r < rows; r++) {
                memcpy((uint8_t *)col->values + r * col->width, b + r * size, col->width);
                col->offsets[r + 1] = (int64_t)((r + 1) * col->width);
            }
            break;
        case DM_COL_U8: case DM_COL_I8: {
            uint8_t *v = col->values;
            for (size_t r = 0; r < rows; r++)
                v[r] = b[r * size];
            break;
        }
        case DM_COL_U16: case DM_COL_I16: {
            uint16_t *v = col->values;
            for (size_t r = 0; r < rows; r++)
                v[r] = dm_be16(b + r * size);
            break;
        }
        case DM_COL_U32: case DM_COL_I32: {
            uint32_t *v = col->values;
            for (size_t r = 0; r < rows; r++)
                v[r] = dm_be32(b + r * size);
            break;
        }
        default: /* BOOL, floats, 64-bit */
            for (size_t r = 0; r < rows; r++)
                col_get_number(b + r * size, col->kind, col->values, r);
            break;
        }
    }
    *out_end = p + rows * size;
    return 1;
}


static int check_layout(const dm_colspec *cols, size_t ncols, int64_t unit, int flags)
{
    if (ncols == 0 || (flags & DM_COLUMNS_BARE && ncols != 1))
        return DM_ERR_BAD_ARGUMENT;
    if (unit != 1 && unit != 1000 && unit != 1000000)
        return DM_ERR_BAD_ARGUMENT;
    for (size_t k = 0; k < ncols; k++) {
        const dm_colspec *col = &cols[k];
        if (col_number_size(col->kind) < 0 || !col->values || (col->nullable && !col->valid))
            return DM_ERR_BAD_ARGUMENT;
        if (col->kind == DM_COL_DATETIME && (!col->deviation || !col->status))
            return DM_ERR_BAD_ARGUMENT;
        if ((col->kind == DM_COL_OCTETS || col->kind == DM_COL_FIXED_OCTETS) && !col->offsets)
            return DM_ERR_BAD_ARGUMENT;
    }
    return DM_OK;
}

int dm_columns_decode(const uint8_t *in, size_t in_len, size_t offset, size_t rows, dm_colspec *cols,
                      size_t ncols, int64_t unit, int flags, dm_columns_result *res)
{
    cur_t c = {in, in_len, res, -1, -1};
    res->end = 0;
    res->err_offset = offset;
    res->err_row = -1;
    res->err_field = -1;
    res->err_found = -1;
    if (!cols || offset > in_len || (!in && in_len))
        return DM_ERR_BAD_ARGUMENT;
    int rc = check_layout(cols, ncols, unit, flags);
    if (rc < 0)
        return rc;
    for (size_t k = 0; k < ncols; k++)
        if (cols[k].offsets)
            cols[k].offsets[0] = 0;

    size_t p = offset;
    uint8_t tag;
    /* in may be NULL when in_len is 0: no pointer is formed before this check */
    if (p >= c.end)
        return fail(&c, DM_ERR_TRUNCATED, p, -1);
    if (dm_peek_u8(at(&c, p), at(&c, c.end), &tag) != DM_OK)
        return fail(&c, DM_ERR_TRUNCATED, p, -1);
    if (tag != 1)
        return fail(&c, DM_ERR_COL_NOT_ARRAY, p, tag);
    uint64_t count;
    rc = read_length(&c, p + 1, &count, &p);
    if (rc < 0)
        return rc;
    if (!dm_has(at(&c, p), at(&c, c.end), count))
        return fail(&c, DM_ERR_TOO_MANY, offset + 1, -1);
    if (count != rows)
        return DM_ERR_BAD_ARGUMENT;

    col_day_cache dc = {0, 0};
    int bare = flags & DM_COLUMNS_BARE;
    size_t fast_end;
    if (fast_rows(in, p, c.end, rows, cols, ncols, unit, flags, &fast_end)) {
        p = fast_end;
        rows = 0; /* all decoded: only the trailing check is left */
    }
    for (size_t r = 0; r < rows; r++) {
        c.row = (int64_t)r;
        c.field = -1;
        if (!bare) {
            if (dm_peek_u8(at(&c, p), at(&c, c.end), &tag) != DM_OK)
                return fail(&c, DM_ERR_TRUNCATED, p, -1);
            if (tag != 2)
                return fail(&c, DM_ERR_COL_ROW, p, tag);
            uint64_t width;
            size_t at = p + 1;
            rc = read_length(&c, at, &width, &p);
            if (rc < 0)
                return rc;
            if (width != ncols)
                return fail(&c, DM_ERR_COL_ROW, at, width > INT32_MAX ? -1 : (int64_t)width);
        }
        for (size_t k = 0; k < ncols; k++) {
            c.field = (int32_t)k;
            rc = field(&c, &cols[k], r, &p, unit, flags, &dc);
            if (rc < 0)
                return rc;
        }
    }
    c.row = -1;
    c.field = -1;
    res->end = p;
    if ((flags & DM_COLUMNS_WHOLE) && p != c.end)
        return fail(&c, DM_ERR_TRAILING, p, -1);
    return DM_OK;
}
