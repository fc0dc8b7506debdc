/* A-XDR Data decoder: input bytes -> a pickle protocol-4 program.
 *
 * cffi cannot build Python objects in C, so the decoder writes a program for
 * CPython's C unpickler, which then builds every object in one C loop.  The
 * program only refers to objects the Python side put in the loader's memo
 * (classes and shared 1-octet values, see DM_MEMO_* in dlmsmesh.h); it never
 * names a global, and every input byte it carries is length-prefixed data.
 *
 * Error offsets and the order of checks follow python/dlmsmesh/_pure/axdr.py
 * exactly: both backends must report the same error at the same offset.
 */
#include <string.h>

#include "bytes.h"
#include "dlmsmesh.h"
#include "program.h"

#define FAIL(d, code, off) \
    do {                   \
        (d)->err_offset = (off); \
        return (code);     \
    } while (0)

#define TRY(expr)             \
    do {                      \
        int rc_ = (expr);     \
        if (rc_ < 0)          \
            return rc_;       \
    } while (0)

static int room(dec_t *d, size_t n)
{
    if (d->cap - d->len < n) {
        d->err_offset = 0;
        return DM_ERR_NO_SPACE;
    }
    return DM_OK;
}

static int put1(dec_t *d, uint8_t b)
{
    TRY(room(d, 1));
    d->out[d->len++] = b;
    return DM_OK;
}

static int put2(dec_t *d, uint8_t a, uint8_t b)
{
    TRY(room(d, 2));
    d->out[d->len++] = a;
    d->out[d->len++] = b;
    return DM_OK;
}

static void le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static int memo_get(dec_t *d, uint32_t idx)
{
    if (idx < 256)
        return put2(d, OP_BINGET, (uint8_t)idx);
    TRY(room(d, 5));
    d->out[d->len] = OP_LONG_BINGET;
    le32(d->out + d->len + 1, idx);
    d->len += 5;
    return DM_OK;
}

/* a Python int: the smallest opcode that holds it */
static int put_uint(dec_t *d, uint64_t v)
{
    if (v < 256)
        return put2(d, OP_BININT1, (uint8_t)v);
    if (v < 65536) {
        TRY(room(d, 3));
        d->out[d->len++] = OP_BININT2;
        d->out[d->len++] = (uint8_t)v;
        d->out[d->len++] = (uint8_t)(v >> 8);
        return DM_OK;
    }
    if (v < 0x80000000u) {
        TRY(room(d, 5));
        d->out[d->len] = OP_BININT;
        le32(d->out + d->len + 1, (uint32_t)v);
        d->len += 5;
        return DM_OK;
    }
    /* LONG1: little-endian two's complement; 9 bytes keep the sign bit clear */
    TRY(room(d, 11));
    d->out[d->len++] = OP_LONG1;
    d->out[d->len++] = 9;
    for (int i = 0; i < 8; i++)
        d->out[d->len++] = (uint8_t)(v >> (8 * i));
    d->out[d->len++] = 0;
    return DM_OK;
}

static int put_int(dec_t *d, int64_t v)
{
    if (v >= 0)
        return put_uint(d, (uint64_t)v);
    if (v >= INT32_MIN) {
        TRY(room(d, 5));
        d->out[d->len] = OP_BININT;
        le32(d->out + d->len + 1, (uint32_t)v);
        d->len += 5;
        return DM_OK;
    }
    TRY(room(d, 10));
    d->out[d->len++] = OP_LONG1;
    d->out[d->len++] = 8;
    for (int i = 0; i < 8; i++)
        d->out[d->len++] = (uint8_t)((uint64_t)v >> (8 * i));
    return DM_OK;
}

static int put_bytes(dec_t *d, const uint8_t *p, size_t n)
{
    if (n < 256) {
        TRY(room(d, 2 + n));
        d->out[d->len++] = OP_SHORT_BINBYTES;
        d->out[d->len++] = (uint8_t)n;
    } else {
        TRY(room(d, 5 + n));
        d->out[d->len] = OP_BINBYTES;
        le32(d->out + d->len + 1, (uint32_t)n);
        d->len += 5;
    }
    memcpy(d->out + d->len, p, n);
    d->len += n;
    return DM_OK;
}

/* a str header for n UTF-8 bytes; the caller writes them */
static int put_str_header(dec_t *d, size_t n)
{
    if (n < 256) {
        TRY(room(d, 2 + n));
        d->out[d->len++] = OP_SHORT_BINUNICODE;
        d->out[d->len++] = (uint8_t)n;
    } else {
        TRY(room(d, 5 + n));
        d->out[d->len] = OP_BINUNICODE;
        le32(d->out + d->len + 1, (uint32_t)n);
        d->len += 5;
    }
    return DM_OK;
}

/* d->in + pos, the reads' (src, end) form */
static const uint8_t *at(const dec_t *d, size_t pos) { return d->in + pos; }

/* The A-XDR length at *pos, inside [.., stop); errors at its first octet. */
static int read_length(dec_t *d, size_t *pos, size_t stop, uint32_t *val)
{
    const uint8_t *p = d->in + *pos;
    const int rc = dm_axdr_read_length(&p, d->in + stop, val);
    if (rc != DM_OK)
        FAIL(d, rc, *pos);
    *pos = (size_t)(p - d->in);
    return DM_OK;
}

/* strict UTF-8, as CPython's decoder: no overlongs, no surrogates, <= U+10FFFF */
static int utf8_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t need;
        uint8_t lo = 0x80, hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF)
            need = 1;
        else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            if (c == 0xE0)
                lo = 0xA0;
            else if (c == 0xED)
                hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            if (c == 0xF0)
                lo = 0x90;
            else if (c == 0xF4)
                hi = 0x8F;
        } else
            return 0;
        if (n - i - 1 < need)
            return 0;
        if (s[i + 1] < lo || s[i + 1] > hi)
            return 0;
        for (size_t k = 2; k <= need; k++)
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
        i += need + 1;
    }
    return 1;
}

/* NEWOBJ(class of tag, (arg,)): the caller has pushed nothing yet */
static int typed_begin(dec_t *d, int tag) { return memo_get(d, DM_MEMO_CLASS_BASE + (uint32_t)tag); }
static int typed_end(dec_t *d) { return put2(d, OP_TUPLE1, OP_NEWOBJ); }

static int cache_index(int tag)
{
    switch (tag) {
    case 17: return DM_CACHE_UNSIGNED;
    case 15: return DM_CACHE_INTEGER;
    case 22: return DM_CACHE_ENUM;
    case 13: return DM_CACHE_BCD;
    default: return -1;
    }
}

/* content size of fixed-size tags, 0 for others */
static const uint8_t FIXED_SIZE[256] = {
    [3] = 1, [5] = 4, [6] = 4, [13] = 1, [15] = 1, [16] = 2, [17] = 1, [18] = 2,
    [20] = 8, [21] = 8, [22] = 1, [23] = 4, [24] = 8, [25] = 12, [26] = 5, [27] = 4,
    /* the delta types: Integer8/16/32, Unsigned8/16/32, never accumulated */
    [28] = 1, [29] = 2, [30] = 4, [31] = 1, [32] = 2, [33] = 4,
};

/* the value of a fixed-size type whose content starts at p */
static int fixed_value(dec_t *d, int tag, const uint8_t *p)
{
    int64_t s;
    switch (tag) {
    case 3:
        return put1(d, p[0] ? OP_NEWTRUE : OP_NEWFALSE);
    case 13: case 15: case 17: case 22:
        return memo_get(d, DM_MEMO_CACHE_BASE + 256u * (uint32_t)cache_index(tag) + p[0]);
    case 5:
        s = (int32_t)(uint32_t)dm_be(p, 4);
        break;
    case 6:
        s = (int64_t)dm_be(p, 4);
        break;
    case 16:
        s = (int16_t)(uint16_t)dm_be(p, 2);
        break;
    case 18:
    case 32:
        s = (int64_t)dm_be(p, 2);
        break;
    case 28:
        s = (int8_t)p[0];
        break;
    case 29:
        s = (int16_t)(uint16_t)dm_be(p, 2);
        break;
    case 30:
        s = (int32_t)(uint32_t)dm_be(p, 4);
        break;
    case 31:
        s = p[0];
        break;
    case 33:
        s = (int64_t)dm_be(p, 4);
        break;
    case 20:
        TRY(typed_begin(d, tag));
        TRY(put_int(d, (int64_t)dm_be(p, 8)));
        return typed_end(d);
    case 21:
        TRY(typed_begin(d, tag));
        TRY(put_uint(d, dm_be(p, 8)));
        return typed_end(d);
    case 23: {
        uint32_t bits = (uint32_t)dm_be(p, 4);
        float f;
        memcpy(&f, &bits, 4);
        double x = (double)f;
        uint64_t xb;
        memcpy(&xb, &x, 8);
        TRY(typed_begin(d, tag));
        TRY(room(d, 9));
        d->out[d->len++] = OP_BINFLOAT;
        for (int i = 7; i >= 0; i--)
            d->out[d->len++] = (uint8_t)(xb >> (8 * i));
        return typed_end(d);
    }
    case 24:
        /* BINFLOAT is a big-endian double: the content as it is */
        TRY(room(d, 9));
        d->out[d->len++] = OP_BINFLOAT;
        memcpy(d->out + d->len, p, 8);
        d->len += 8;
        return DM_OK;
    default: /* 25, 26, 27: date-time, date, time */
        TRY(typed_begin(d, tag));
        TRY(put_bytes(d, p, FIXED_SIZE[tag]));
        return typed_end(d);
    }
    TRY(typed_begin(d, tag));
    TRY(put_int(d, s));
    return typed_end(d);
}

/* octet-string / visible-string / utf8-string / bit-string whose length field
 * starts at p (inside [.., stop)).  Sets *next past the content. */
static int variable_value(dec_t *d, int tag, size_t p, size_t stop, size_t *next)
{
    uint32_t n;
    TRY(read_length(d, &p, stop, &n));
    if (tag == 4) {
        size_t nbytes = ((size_t)n + 7) >> 3;
        if (!dm_has(at(d, p), at(d, stop), nbytes))
            FAIL(d, DM_ERR_TRUNCATED, p);
        TRY(typed_begin(d, tag));
        TRY(put_str_header(d, n));
        for (size_t i = 0; i < n; i++)
            d->out[d->len++] = (d->in[p + (i >> 3)] & (0x80 >> (i & 7))) ? '1' : '0';
        *next = p + nbytes;
        return typed_end(d);
    }
    const uint8_t *s = at(d, p), *q = s;
    if (dm_skip(&q, at(d, stop), n) != DM_OK)
        FAIL(d, DM_ERR_TRUNCATED, p);
    *next = p + n;
    if (tag == 9)
        return put_bytes(d, s, n);
    if (tag == 12) {
        if (!utf8_valid(s, n))
            FAIL(d, DM_ERR_BAD_UTF8, p);
        TRY(typed_begin(d, tag));
        TRY(put_str_header(d, n));
        memcpy(d->out + d->len, s, n);
        d->len += n;
        return typed_end(d);
    }
    /* visible-string: one octet per character (latin-1), carried as UTF-8 */
    size_t wide = 0;
    for (size_t i = 0; i < n; i++)
        wide += s[i] >> 7;
    TRY(typed_begin(d, tag));
    TRY(put_str_header(d, n + wide));
    for (size_t i = 0; i < n; i++) {
        uint8_t c = s[i];
        if (c < 0x80) {
            d->out[d->len++] = c;
        } else {
            d->out[d->len++] = (uint8_t)(0xC0 | (c >> 6));
            d->out[d->len++] = (uint8_t)(0x80 | (c & 0x3F));
        }
    }
    return typed_end(d);
}

static int is_simple_description(int tag)
{
    return tag == 3 || tag == 4 || tag == 5 || tag == 6 || tag == 9 || tag == 10 || tag == 12 ||
           tag == 13 || (tag >= 15 && tag <= 18) || (tag >= 20 && tag <= 33);
}

/* Compact-array TypeDescription at *pos: validated, its Python object written.
 * Returns the end in *pos; *desc_start keeps where it started for the contents pass. */
static int description(dec_t *d, size_t *pos, int depth)
{
    size_t p = *pos;
    uint8_t tag;
    if (dm_peek_u8(at(d, p), at(d, d->end), &tag) != DM_OK)
        FAIL(d, DM_ERR_TRUNCATED, p);
    if (is_simple_description(tag)) {
        *pos = p + 1;
        return typed_begin(d, tag);
    }
    if (tag == 0 || tag == 255)
        FAIL(d, DM_ERR_ZERO_SIZE, p);
    if (tag != 1 && tag != 2)
        FAIL(d, DM_ERR_BAD_DESCRIPTION, p);
    depth++;
    if (depth > d->max_depth)
        FAIL(d, DM_ERR_TOO_DEEP, p);
    if (tag == 1) {
        const uint8_t *q = at(d, p + 1);
        uint16_t count;
        if (dm_read_be16(&q, at(d, d->end), &count) != DM_OK)
            FAIL(d, DM_ERR_TRUNCATED, p + 1);
        if (count == 0)
            FAIL(d, DM_ERR_ZERO_SIZE, p);
        TRY(memo_get(d, DM_MEMO_ARRAY_DESCRIPTION));
        TRY(put_uint(d, count));
        size_t next = p + 3;
        TRY(description(d, &next, depth));
        *pos = next;
        return put2(d, OP_TUPLE2, OP_REDUCE);
    }
    size_t q = p + 1;
    uint32_t count;
    TRY(read_length(d, &q, d->end, &count));
    if (count == 0)
        FAIL(d, DM_ERR_ZERO_SIZE, p);
    if (!dm_has(at(d, q), at(d, d->end), count))
        FAIL(d, DM_ERR_TOO_MANY, p + 1);
    TRY(memo_get(d, DM_MEMO_STRUCTURE_DESCRIPTION));
    TRY(put1(d, OP_MARK));
    for (uint32_t i = 0; i < count; i++)
        TRY(description(d, &q, depth));
    TRY(put1(d, OP_TUPLE));
    *pos = q;
    return put2(d, OP_TUPLE1, OP_REDUCE);
}

/* one compact-array element described at in[*dp] (already validated), contents at *pos */
static int compact_element(dec_t *d, size_t *dp, size_t *pos, size_t stop)
{
    int tag = d->in[*dp];
    size_t p = *pos;
    if (tag == 2) {
        size_t q = *dp + 1;
        uint32_t count;
        TRY(read_length(d, &q, d->end, &count));
        TRY(put1(d, OP_MARK));
        for (uint32_t i = 0; i < count; i++)
            TRY(compact_element(d, &q, &p, stop));
        *dp = q;
        *pos = p;
        return put1(d, OP_TUPLE);
    }
    if (tag == 1) {
        uint32_t count = (uint32_t)dm_be16(d->in + *dp + 1);
        size_t elem = *dp + 3, q = elem;
        TRY(put2(d, OP_EMPTY_LIST, OP_MARK));
        for (uint32_t i = 0; i < count; i++) {
            q = elem;
            TRY(compact_element(d, &q, &p, stop));
        }
        *dp = q;
        *pos = p;
        return put1(d, OP_APPENDS);
    }
    *dp += 1;
    size_t size = FIXED_SIZE[tag];
    if (size) {
        if (!dm_has(at(d, p), at(d, stop), size))
            FAIL(d, DM_ERR_COMPACT_OVERRUN, p);
        *pos = p + size;
        return fixed_value(d, tag, d->in + p);
    }
    int rc = variable_value(d, tag, p, stop, pos);
    if (rc == DM_ERR_TRUNCATED)
        FAIL(d, DM_ERR_COMPACT_OVERRUN, p);
    return rc;
}

static int value(dec_t *d, size_t *pos, int depth);

static int compact_array(dec_t *d, size_t pos, size_t *next, int depth)
{
    depth++;
    if (depth > d->max_depth)
        FAIL(d, DM_ERR_TOO_DEEP, pos);
    TRY(memo_get(d, DM_MEMO_MAKE_COMPACT));
    size_t desc_start = pos + 1, p = desc_start;
    TRY(description(d, &p, depth));
    uint32_t n;
    TRY(read_length(d, &p, d->end, &n));
    if (!dm_has(at(d, p), at(d, d->end), n))
        FAIL(d, DM_ERR_TRUNCATED, p);
    size_t stop = p + n;
    TRY(put2(d, OP_EMPTY_LIST, OP_MARK));
    while (p < stop) {
        size_t dp = desc_start;
        TRY(compact_element(d, &dp, &p, stop));
    }
    TRY(put1(d, OP_APPENDS));
    *next = stop;
    return put2(d, OP_TUPLE2, OP_REDUCE);
}

static int sequence(dec_t *d, size_t pos, size_t *next, int depth)
{
    depth++;
    if (depth > d->max_depth)
        FAIL(d, DM_ERR_TOO_DEEP, pos);
    size_t p = pos + 1;
    uint32_t n;
    TRY(read_length(d, &p, d->end, &n));
    if (!dm_has(at(d, p), at(d, d->end), n))
        FAIL(d, DM_ERR_TOO_MANY, pos + 1);
    int is_array = d->in[pos] == 1;
    if (n == 0) {
        *next = p;
        return put1(d, is_array ? OP_EMPTY_LIST : OP_EMPTY_TUPLE);
    }
    if (is_array)
        TRY(put1(d, OP_EMPTY_LIST));
    TRY(put1(d, OP_MARK));
    for (uint32_t i = 0; i < n; i++)
        TRY(value(d, &p, depth));
    *next = p;
    return put1(d, is_array ? OP_APPENDS : OP_TUPLE);
}

static int value(dec_t *d, size_t *pos, int depth)
{
    size_t p = *pos;
    const uint8_t *q = at(d, p), *end = at(d, d->end), *content;
    uint8_t tag;
    if (dm_read_u8(&q, end, &tag) != DM_OK)
        FAIL(d, DM_ERR_TRUNCATED, p);
    size_t size = FIXED_SIZE[tag];
    if (size) {
        if (dm_read_bytes(&q, end, size, &content) != DM_OK)
            FAIL(d, DM_ERR_TRUNCATED, p + 1);
        *pos = p + 1 + size;
        return fixed_value(d, tag, content);
    }
    switch (tag) {
    case 0:
        *pos = p + 1;
        return put1(d, OP_NONE);
    case 255:
        *pos = p + 1;
        return memo_get(d, DM_MEMO_DONT_CARE);
    case 1:
    case 2:
        return sequence(d, p, pos, depth);
    case 4:
    case 9:
    case 10:
    case 12:
        return variable_value(d, tag, p + 1, d->end, pos);
    case 19:
        return compact_array(d, p, pos, depth);
    default:
        FAIL(d, DM_ERR_BAD_TAG, p);
    }
}

int dm_axdr_decode(const uint8_t *in, size_t in_len, size_t offset, int max_depth, int flags,
                   uint8_t *out, size_t out_cap, dm_decode_result *res)
{
    dec_t d = {in, in_len, out, out_cap, 0, max_depth, 0};
    res->out_len = 0;
    res->end = offset;
    res->err_offset = offset;
    if (offset > in_len || out_cap < 16) {
        res->err_offset = offset;
        return DM_ERR_BAD_ARGUMENT;
    }
    /* PROTO 4, then one FRAME holding the rest so the loader reads it at once */
    out[0] = OP_PROTO;
    out[1] = 4;
    out[2] = OP_FRAME;
    d.len = 11;
    size_t p = offset;
    int rc = value(&d, &p, 0);
    if (rc == DM_OK && (flags & DM_DECODE_WHOLE) && p != in_len) {
        rc = DM_ERR_TRAILING;
        d.err_offset = p;
    }
    if (rc == DM_OK)
        rc = put1(&d, OP_STOP);
    if (rc < 0) {
        res->err_offset = d.err_offset;
        return rc;
    }
    uint64_t frame = d.len - 11;
    for (int i = 0; i < 8; i++)
        out[3 + i] = (uint8_t)(frame >> (8 * i));
    res->out_len = d.len;
    res->end = p;
    return DM_OK;
}

/* the pieces csrc/apdu_decode.c builds APDU programs from (program.h) */
int dm_prog_put1(dec_t *d, uint8_t b) { return put1(d, b); }
int dm_prog_put2(dec_t *d, uint8_t a, uint8_t b) { return put2(d, a, b); }
int dm_prog_memo(dec_t *d, uint32_t idx) { return memo_get(d, idx); }
int dm_prog_uint(dec_t *d, uint64_t v) { return put_uint(d, v); }
int dm_prog_bytes(dec_t *d, const uint8_t *p, size_t n) { return put_bytes(d, p, n); }
int dm_prog_length(dec_t *d, size_t *pos, size_t stop, uint32_t *val) { return read_length(d, pos, stop, val); }
int dm_prog_value(dec_t *d, size_t *pos) { return value(d, pos, 0); }
