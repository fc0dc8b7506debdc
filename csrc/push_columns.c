/* The data-notifications of a decoded batch -> typed columns, one row per
 * frame, in one pass over dm_pipe_decode's records.
 *
 * The plaintext of every frame that decoded is where its record says (the
 * plain buffer when it was ciphered, else its base); each one is walked
 * against the body's shape (structure headers and fields, nested structures
 * flattened) and, when every field fits, becomes the next row: the meta
 * columns (frame index, sender system title, invocation counter,
 * long-invoke-id, the notification's date-time) and one column per body
 * field.  A frame that does not fit is left out with its reason in outcome;
 * whatever it wrote into row r is overwritten by the next frame that fits.
 *
 * Field checks, error offsets and their order follow
 * python/dlmsmesh/_pure/push.py exactly, so both backends list the same
 * frames with the same reasons.  Nothing is allocated here.
 */
#include <string.h>

#include "columns.h"
#include "dlmsmesh.h"

enum { META_FRAME, META_TITLE, META_IC, META_INVOKE, META_TIME };

typedef struct {
    const uint8_t *in; /* the plaintext APDU */
    size_t end;
    int32_t *out;      /* this frame's outcome: code, offset, field, found */
    int32_t field;
} cur_t;

static int fail(cur_t *c, int code, size_t off, int64_t found)
{
    c->out[0] = code;
    c->out[1] = off > INT32_MAX ? -1 : (int32_t)off;
    c->out[2] = c->field;
    c->out[3] = found < 0 || found > INT32_MAX ? -1 : (int32_t)found;
    return code;
}

static int read_length(cur_t *c, size_t p, uint64_t *value, size_t *next)
{
    const uint8_t *q = c->in + p;
    uint32_t v;
    const int rc = dm_axdr_read_length(&q, c->in + c->end, &v);
    if (rc != DM_OK)
        return fail(c, rc, p, -1);
    *value = v;
    *next = (size_t)(q - c->in);
    return DM_OK;
}


static int put_octets(cur_t *c, dm_colspec *col, size_t r, const uint8_t *src, size_t off, uint64_t n)
{
    int64_t at = col->offsets[r];
    if (at < 0 || (uint64_t)at > col->capacity || n > col->capacity - (uint64_t)at)
        return fail(c, DM_ERR_NO_SPACE, off, -1);
    if (n)
        memcpy((uint8_t *)col->values + at, src, (size_t)n);
    col->offsets[r + 1] = at + (int64_t)n;
    return DM_OK;
}

/* One body field at *pos into row r of col. */
static int field(cur_t *c, dm_colspec *col, size_t r, size_t *pos, int64_t unit, int flags, col_day_cache *dc)
{
    size_t p = *pos;
    if (p >= c->end)
        return fail(c, DM_ERR_TRUNCATED, p, -1);
    uint8_t tag = c->in[p];
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
        if ((size_t)size > c->end - q)
            return fail(c, DM_ERR_TRUNCATED, q, -1);
        col_get_number(c->in + q, col->kind, col->values, r);
        *pos = q + (size_t)size;
        return DM_OK;
    }
    uint64_t n;
    int rc;
    switch (col->kind) {
    case DM_COL_DATETIME:
        if (tag == 9) {
            rc = read_length(c, q, &n, &q);
            if (rc < 0)
                return rc;
            if (n != 12)
                return fail(c, DM_ERR_COL_WIDTH, p + 1, (int64_t)n);
        }
        if (12 > c->end - q)
            return fail(c, DM_ERR_TRUNCATED, q, -1);
        col_put_datetime(col, r, c->in + q, unit, flags, dc);
        *pos = q + 12;
        return DM_OK;
    case DM_COL_FIXED_OCTETS:
        n = col->width;
        break;
    default: /* DM_COL_OCTETS */
        rc = read_length(c, q, &n, &q);
        if (rc < 0)
            return rc;
        break;
    }
    if (n > c->end - q)
        return fail(c, DM_ERR_TRUNCATED, q, -1);
    rc = put_octets(c, col, r, c->in + q, q, n);
    if (rc < 0)
        return rc;
    *pos = q + (size_t)n;
    return DM_OK;
}

/* Frame i's plaintext APDU, or NULL when its record points outside the buffers. */
static const uint8_t *plaintext_of(const dm_push_batch *b, const dm_pipe_item *it, size_t *len)
{
    const uint8_t *buf;
    size_t cap;
    uint64_t start = it->plain;
    if (it->flags & DM_PIPE_F_CIPHERED) {
        buf = b->plain, cap = b->plain_len;
    } else {
        if (it->flags & DM_PIPE_F_DATAGRAM)
            buf = b->datagrams, cap = b->datagrams_len;
        else
            buf = b->data, cap = b->data_len;
        start += it->base;
    }
    if (!buf || start > cap || it->plain_len > cap - start)
        return NULL;
    *len = it->plain_len;
    return buf + start;
}

/* The sender's system title of a ciphered frame: the one it carries, else
 * its peer's (NULL: none known). */
static const uint8_t *title_of(const dm_push_batch *b, const dm_pipe_item *it)
{
    if (!(it->flags & DM_PIPE_F_CIPHERED))
        return NULL;
    const uint8_t *base = it->flags & DM_PIPE_F_DATAGRAM ? b->datagrams : b->data;
    size_t cap = it->flags & DM_PIPE_F_DATAGRAM ? b->datagrams_len : b->data_len;
    uint64_t start = (uint64_t)it->base + it->apdu;
    if (base && it->apdu != DM_PIPE_NONE && start <= cap && it->apdu_len <= cap - start) {
        const uint8_t *a = base + start;
        /* general-glo/-ded-ciphering, the pushes' framing: the title right after the tag */
        if (it->apdu_len >= 10 && (a[0] == 0xDB || a[0] == 0xDC) && a[1] == 8)
            return a + 2;
        dm_secure_frame f;
        size_t err;
        if (dm_secure_parse(base + start, it->apdu_len, &f, &err) == DM_OK && f.title_len == 8)
            return base + start + f.title;
    }
    if (it->peer < b->ntitles && b->titled[it->peer])
        return b->titles + 8 * (size_t)it->peer;
    return NULL;
}

static int check_args(const dm_push_batch *b, const uint16_t *shape, size_t shape_len, const dm_colspec *meta,
                      const dm_colspec *cols, size_t ncols, int64_t unit)
{
    if (!b || !shape || !meta || !cols || (b->n && !b->items) || (b->ntitles && (!b->titles || !b->titled)))
        return DM_ERR_BAD_ARGUMENT;
    if (unit != 1 && unit != 1000 && unit != 1000000)
        return DM_ERR_BAD_ARGUMENT;
    if (shape_len == 0 || shape_len > DM_PUSH_SHAPE_MAX)
        return DM_ERR_BAD_ARGUMENT;
    size_t fields = 0;
    for (size_t s = 0; s < shape_len; s++)
        fields += shape[s] == DM_PUSH_SHAPE_FIELD;
    if (fields != ncols)
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
    if (!meta[META_FRAME].values || !meta[META_TITLE].values || !meta[META_TITLE].offsets || !meta[META_IC].values ||
        !meta[META_IC].valid || !meta[META_INVOKE].values || !meta[META_TIME].values || !meta[META_TIME].valid ||
        !meta[META_TIME].deviation || !meta[META_TIME].status)
        return DM_ERR_BAD_ARGUMENT;
    return DM_OK;
}

/* Row r from the plaintext p of frame i; DM_OK or the reason it does not fit. */
static int row(cur_t *c, const dm_push_batch *b, const dm_pipe_item *it, size_t i, size_t r, const uint16_t *shape,
               size_t shape_len, dm_colspec *meta, dm_colspec *cols, int64_t unit, int flags, col_day_cache *dc)
{
    const uint8_t *p = c->in;
    size_t len = c->end;
    if (len == 0 || p[0] != 0x0F)
        return fail(c, DM_PUSH_NOT_NOTIFICATION, 0, len ? p[0] : -1);
    if (len < 6)
        return fail(c, DM_ERR_TRUNCATED, len, -1);
    size_t q = 5;
    uint8_t n = p[q];
    if (n == 0x09) { /* lenient, as the APDU decoder: an octet-string tag before the time */
        q = 6;
        if (q >= len)
            return fail(c, DM_ERR_TRUNCATED, q, -1);
        n = p[q];
    }
    size_t dt = 0;
    if (n == 12) {
        if (12 > len - (q + 1))
            return fail(c, DM_ERR_TRUNCATED, q + 1, -1);
        dt = q + 1;
        q += 13;
    } else if (n == 0) {
        q += 1;
    } else {
        return fail(c, DM_ERR_BAD_LENGTH, q, n);
    }
    size_t k = 0;
    for (size_t s = 0; s < shape_len; s++) {
        if (shape[s] == DM_PUSH_SHAPE_FIELD) {
            c->field = (int32_t)k;
            int rc = field(c, &cols[k], r, &q, unit, flags, dc);
            if (rc < 0)
                return rc;
            k++;
            continue;
        }
        c->field = -1;
        if (q >= len)
            return fail(c, DM_ERR_TRUNCATED, q, -1);
        if (p[q] != 2)
            return fail(c, DM_ERR_COL_ROW, q, p[q]);
        size_t at = q + 1;
        uint64_t width;
        int rc = read_length(c, at, &width, &q);
        if (rc < 0)
            return rc;
        if (width != shape[s])
            return fail(c, DM_ERR_COL_ROW, at, (int64_t)width);
    }
    c->field = -1;
    if (q != len)
        return fail(c, DM_ERR_TRAILING, q, -1);

    ((uint32_t *)meta[META_FRAME].values)[r] = (uint32_t)i;
    const uint8_t *title = title_of(b, it);
    int rc = put_octets(c, &meta[META_TITLE], r, title, 0, title ? 8 : 0);
    if (rc < 0)
        return rc;
    if (it->flags & DM_PIPE_F_CIPHERED) {
        ((uint32_t *)meta[META_IC].values)[r] = it->ic;
        meta[META_IC].valid[r] = 1;
    } else {
        ((uint32_t *)meta[META_IC].values)[r] = 0;
        meta[META_IC].valid[r] = 0;
    }
    ((uint32_t *)meta[META_INVOKE].values)[r] = (uint32_t)dm_be(p + 1, 4) & 0xFFFFFF;
    if (dt) {
        col_put_datetime(&meta[META_TIME], r, p + dt, unit, flags, dc);
        meta[META_TIME].valid[r] = 1;
    } else {
        meta[META_TIME].valid[r] = 0;
        ((int64_t *)meta[META_TIME].values)[r] = DM_COL_NAT;
        meta[META_TIME].deviation[r] = DM_DEVIATION_NOT_SPECIFIED;
        meta[META_TIME].status[r] = 0xFF;
    }
    return DM_OK;
}

int64_t dm_push_columns(const dm_push_batch *batch, const uint16_t *shape, size_t shape_len, dm_colspec *meta,
                        dm_colspec *cols, size_t ncols, int64_t unit, int flags, int32_t *outcome)
{
    int rc = check_args(batch, shape, shape_len, meta, cols, ncols, unit);
    if (rc < 0 || !outcome)
        return rc < 0 ? rc : DM_ERR_BAD_ARGUMENT;
    meta[META_TITLE].offsets[0] = 0;
    for (size_t k = 0; k < ncols; k++)
        if (cols[k].offsets)
            cols[k].offsets[0] = 0;
    col_day_cache dc = {0, 0};
    size_t rows = 0;
    for (size_t i = 0; i < batch->n; i++) {
        const dm_pipe_item *it = &batch->items[i];
        int32_t *out = outcome + 4 * i;
        cur_t c = {NULL, 0, out, -1};
        out[0] = DM_PUSH_TAKEN, out[1] = 0, out[2] = -1, out[3] = -1;
        if (it->status != DM_OK) {
            fail(&c, DM_PUSH_FAILED, 0, -1);
            continue;
        }
        c.in = plaintext_of(batch, it, &c.end);
        if (!c.in) {
            fail(&c, DM_ERR_BAD_ARGUMENT, 0, -1);
            continue;
        }
        if (row(&c, batch, it, i, rows, shape, shape_len, meta, cols, unit, flags, &dc) == DM_OK)
            rows++;
    }
    return (int64_t)rows;
}
