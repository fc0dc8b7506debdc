/* The xDLMS APDU hot path: the APDUs a head-end receives by the thousand
 * (get-response-normal, data-notification, general-block-transfer) decode
 * here in one call, header and body, into a program that builds the frozen
 * dataclass directly (object.__new__ + __dict__ update: no Python code runs).
 *
 * Checks and error offsets mirror python/dlmsmesh/_pure/apdu.py exactly.
 */
#include "bytes.h"
#include "dlmsmesh.h"
#include "program.h"

#define OP_EMPTY_DICT '}'
#define OP_SETITEMS 'u'
#define OP_BUILD 'b'

#define TRY(expr)         \
    do {                  \
        int rc_ = (expr); \
        if (rc_ < 0)      \
            return rc_;   \
    } while (0)

typedef struct {
    dec_t d;
    int in_data;
} apdu_t;

/* in + p, the reads' (src, end) form (p <= end) */
static const uint8_t *at(const apdu_t *a, size_t p) { return a->d.in + p; }

static int fail(apdu_t *a, int code, size_t off)
{
    a->d.err_offset = off;
    return code;
}

static int begin_object(apdu_t *a, uint32_t cls_slot)
{
    TRY(dm_prog_memo(&a->d, cls_slot));
    TRY(dm_prog_put2(&a->d, OP_EMPTY_TUPLE, OP_NEWOBJ));
    return dm_prog_put2(&a->d, OP_EMPTY_DICT, OP_MARK);
}

static int end_object(apdu_t *a) { return dm_prog_put2(&a->d, OP_SETITEMS, OP_BUILD); }

static int key(apdu_t *a, int field) { return dm_prog_memo(&a->d, DM_MEMO_FIELD_BASE + (uint32_t)field); }

static int bool_field(apdu_t *a, int field, int v)
{
    TRY(key(a, field));
    return dm_prog_put1(&a->d, v ? OP_NEWTRUE : OP_NEWFALSE);
}

static int uint_field(apdu_t *a, int field, uint64_t v)
{
    TRY(key(a, field));
    return dm_prog_uint(&a->d, v);
}

/* a Data value as an APDU component: a top-level null-data stays NullData() */
static int data_field(apdu_t *a, int field, size_t *pos)
{
    TRY(key(a, field));
    uint8_t tag;
    if (dm_peek_u8(at(a, *pos), at(a, a->d.end), &tag) == DM_OK && tag == 0) {
        *pos += 1;
        return dm_prog_memo(&a->d, DM_MEMO_NULL_DATA);
    }
    int rc = dm_prog_value(&a->d, pos);
    if (rc < 0 && rc != DM_ERR_NO_SPACE)
        a->in_data = 1;
    return rc;
}

static int u8_at(apdu_t *a, size_t p, uint8_t *v)
{
    if (dm_peek_u8(at(a, p), at(a, a->d.end), v) != DM_OK)
        return fail(a, DM_ERR_TRUNCATED, p);
    return DM_OK;
}

/* A get-response-normal whose whole rest is one small value: its kind (0 = no). */
static int scalar_result(apdu_t *a, int64_t *value)
{
    const uint8_t *in = a->d.in;
    size_t n = a->d.end;
    /* only a well-formed choice byte (0 data, 1 data-access-result) takes the
     * shortcut; anything else, and a missing one, goes the checked way */
    if (n < 5 || in[3] > 1)
        return 0;
    if (in[3] == 1) {
        if (n != 5)
            return 0;
        *value = in[4];
        return 255;
    }
    int tag = in[4];
    size_t size;
    switch (tag) {
    case 0: size = 0; break;
    case 3: case 13: case 15: case 17: case 22: size = 1; break;
    case 16: case 18: size = 2; break;
    case 5: case 6: size = 4; break;
    case 9:
        if (n < 6 || in[5] >= 0x80 || (size_t)in[5] + 6 != n)
            return 0;
        return 9;
    default:
        return 0;
    }
    if (5 + size != n)
        return 0;
    uint64_t v = dm_be(in + 5, size);
    if (tag == 15)
        v = (uint64_t)(int64_t)(int8_t)v;
    else if (tag == 16)
        v = (uint64_t)(int64_t)(int16_t)v;
    else if (tag == 5)
        v = (uint64_t)(int64_t)(int32_t)v;
    *value = (int64_t)v;
    return tag == 0 ? 256 : tag;
}

/* invoke-id-and-priority fields, each only when it differs from the default C1 */
static int iip_fields(apdu_t *a, uint8_t iip)
{
    if ((iip & 0x0F) != 1)
        TRY(uint_field(a, DM_FIELD_INVOKE_ID, iip & 0x0F));
    if (!(iip & 0x80)) {
        TRY(key(a, DM_FIELD_PRIORITY));
        TRY(dm_prog_memo(&a->d, DM_MEMO_PRIORITY_BASE + 0));
    }
    if (!(iip & 0x40)) {
        TRY(key(a, DM_FIELD_SERVICE_CLASS));
        TRY(dm_prog_memo(&a->d, DM_MEMO_SERVICE_CLASS_BASE + 0));
    }
    return DM_OK;
}

static int get_response_normal(apdu_t *a, size_t *pos)
{
    uint8_t iip = a->d.in[2], flag;
    size_t p = 3;
    TRY(u8_at(a, p, &flag));
    if (flag > 1)
        return fail(a, DM_ERR_APDU_FLAG, p);
    TRY(begin_object(a, DM_MEMO_GET_RESPONSE_NORMAL));
    TRY(iip_fields(a, iip));
    if (flag) {
        uint8_t dar;
        TRY(u8_at(a, p + 1, &dar));
        TRY(key(a, DM_FIELD_RESULT));
        TRY(dm_prog_memo(&a->d, DM_MEMO_DAR_BASE + dar));
        p += 2;
    } else {
        p += 1;
        TRY(data_field(a, DM_FIELD_RESULT, &p));
    }
    *pos = p;
    return end_object(a);
}

static int data_notification(apdu_t *a, size_t *pos)
{
    const uint8_t *in = a->d.in, *q = at(a, 1);
    uint32_t lip;
    if (dm_read_be32(&q, at(a, a->d.end), &lip) != DM_OK)
        return fail(a, DM_ERR_TRUNCATED, 1);
    size_t p = 5;
    uint8_t n;
    TRY(u8_at(a, p, &n));
    if (n == 0x09) { /* lenient: an octet-string tag before the time */
        TRY(u8_at(a, p + 1, &n));
        p += 1;
    }
    size_t dt = 0;
    if (n == 0) {
        p += 1;
    } else if (n == 12) {
        if (!dm_has(at(a, p), at(a, a->d.end), 13))
            return fail(a, DM_ERR_TRUNCATED, p + 1);
        dt = p + 1;
        p += 13;
    } else {
        return fail(a, DM_ERR_BAD_LENGTH, p);
    }
    /* defaults: id 0, normal, unconfirmed, continue-on-error, not self-descriptive, no time */
    TRY(begin_object(a, DM_MEMO_DATA_NOTIFICATION));
    if (lip & 0xFFFFFF)
        TRY(uint_field(a, DM_FIELD_LONG_INVOKE_ID, lip & 0xFFFFFF));
    if (lip >> 31) {
        TRY(key(a, DM_FIELD_PRIORITY));
        TRY(dm_prog_memo(&a->d, DM_MEMO_PRIORITY_BASE + 1));
    }
    if ((lip >> 30) & 1) {
        TRY(key(a, DM_FIELD_SERVICE_CLASS));
        TRY(dm_prog_memo(&a->d, DM_MEMO_SERVICE_CLASS_BASE + 1));
    }
    if ((lip >> 29) & 1)
        TRY(bool_field(a, DM_FIELD_PROCESSING_OPTION, 1));
    if ((lip >> 28) & 1)
        TRY(bool_field(a, DM_FIELD_SELF_DESCRIPTIVE, 1));
    if (dt) {
        TRY(key(a, DM_FIELD_DATE_TIME));
        TRY(dm_prog_memo(&a->d, DM_MEMO_CLASS_BASE + 25));
        TRY(dm_prog_bytes(&a->d, in + dt, 12));
        TRY(dm_prog_put2(&a->d, OP_TUPLE1, OP_NEWOBJ));
    }
    TRY(data_field(a, DM_FIELD_BODY, &p));
    *pos = p;
    return end_object(a);
}

static int general_block_transfer(apdu_t *a, size_t *pos)
{
    const uint8_t *in = a->d.in;
    uint8_t control;
    TRY(u8_at(a, 1, &control));
    const uint8_t *q = at(a, 2), *end = at(a, a->d.end);
    uint16_t block_number, block_number_ack;
    if (dm_read_be16(&q, end, &block_number) != DM_OK)
        return fail(a, DM_ERR_TRUNCATED, 2);
    if (dm_read_be16(&q, end, &block_number_ack) != DM_OK)
        return fail(a, DM_ERR_TRUNCATED, 4);
    size_t p = 6;
    uint32_t n;
    TRY(dm_prog_length(&a->d, &p, a->d.end, &n));
    if (!dm_has(at(a, p), end, n))
        return fail(a, DM_ERR_TRUNCATED, p);
    TRY(begin_object(a, DM_MEMO_GENERAL_BLOCK_TRANSFER));
    TRY(bool_field(a, DM_FIELD_LAST_BLOCK, control & 0x80));
    TRY(bool_field(a, DM_FIELD_STREAMING, control & 0x40));
    TRY(uint_field(a, DM_FIELD_WINDOW, control & 0x3F));
    TRY(uint_field(a, DM_FIELD_BLOCK_NUMBER, block_number));
    TRY(uint_field(a, DM_FIELD_BLOCK_NUMBER_ACK, block_number_ack));
    TRY(key(a, DM_FIELD_BLOCK_DATA));
    TRY(dm_prog_bytes(&a->d, in + p, n));
    *pos = p + n;
    return end_object(a);
}

int dm_apdu_decode(const char *in_, size_t in_len, dm_apdu_ctx *ctx)
{
    const uint8_t *in = (const uint8_t *)in_;
    uint8_t *out = ctx->out;
    size_t out_cap = ctx->out_cap;
    dm_apdu_result *res = &ctx->res;
    apdu_t a = {{in, in_len, out, out_cap, 0, DM_DEFAULT_MAX_DEPTH, 0}, 0};
    res->out_len = 0;
    res->end = 0;
    res->err_offset = 0;
    res->in_data = 0;
    if (out_cap < 16)
        return DM_ERR_NO_SPACE;
    int which;
    if (in_len >= 3 && in[0] == 0xC4 && in[1] == 1)
        which = 1;
    else if (in_len >= 1 && in[0] == 0x0F)
        which = 2;
    else if (in_len >= 1 && in[0] == 0xE0)
        which = 3;
    else
        return DM_ERR_APDU_NOT_HOT;
    if (which == 1) {
        int kind = scalar_result(&a, &ctx->value);
        if (kind)
            return DM_APDU_SCALAR | (int)in[2] << 8 | (kind & 0xFF);
    }
    out[0] = OP_PROTO;
    out[1] = 4;
    out[2] = OP_FRAME;
    a.d.len = 11;
    size_t p = 0;
    int rc = which == 1 ? get_response_normal(&a, &p)
           : which == 2 ? data_notification(&a, &p)
                        : general_block_transfer(&a, &p);
    if (rc == DM_OK && p != in_len) {
        rc = DM_ERR_TRAILING;
        a.d.err_offset = p;
    }
    if (rc == DM_OK)
        rc = dm_prog_put1(&a.d, OP_STOP);
    if (rc < 0) {
        res->err_offset = a.d.err_offset;
        res->in_data = a.in_data;
        return rc;
    }
    uint64_t frame = a.d.len - 11;
    for (int i = 0; i < 8; i++)
        out[3 + i] = (uint8_t)(frame >> (8 * i));
    if (a.d.len >= DM_APDU_SCALAR) {
        res->err_offset = 0;
        return DM_ERR_NO_SPACE;
    }
    res->out_len = a.d.len;
    res->end = p;
    return (int)a.d.len;
}
