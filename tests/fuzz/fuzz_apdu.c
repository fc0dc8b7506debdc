/* libFuzzer harness: xDLMS APDU hot path (csrc/apdu_decode.c, dm_apdu_decode).
 *
 * Input: one APDU.
 * Checks: the answer is a program length, a scalar answer (get-response-normal
 * with one small value, whose fields match the bytes) or a documented error;
 * every program is well-formed; an exact program buffer suffices and one
 * byte less asks for more; the context is reused across calls; a Data value
 * inside an APDU decodes as dm_axdr_decode decodes it alone.
 */
#include "fuzz_common.h"

static int known_status(int rc)
{
    switch (rc) {
    case DM_ERR_TRUNCATED: case DM_ERR_BAD_TAG: case DM_ERR_BAD_LENGTH: case DM_ERR_TOO_DEEP:
    case DM_ERR_TOO_MANY: case DM_ERR_TRAILING: case DM_ERR_BAD_UTF8: case DM_ERR_BAD_DESCRIPTION:
    case DM_ERR_COMPACT_OVERRUN: case DM_ERR_ZERO_SIZE: case DM_ERR_APDU_FLAG: case DM_ERR_APDU_NOT_HOT:
        return 1;
    default:
        return 0;
    }
}

static dm_apdu_ctx ctx; /* reused across inputs, as the Python side reuses its thread's */

static int decode(const uint8_t *in, size_t size, size_t cap, uint8_t **out)
{
    *out = fz_alloc(cap);
    ctx.out = *out;
    ctx.out_cap = cap;
    return dm_apdu_decode((const char *)in, size, &ctx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *in = fz_dup(data, size);
    uint8_t *out;
    size_t cap = 64 + 16 * size;
    int rc = decode(in, size, cap, &out);
    CHECK(rc != DM_ERR_NO_SPACE);
    if (rc > 0 && (rc & DM_APDU_SCALAR)) {
        /* get-response-normal C4 01 iip 00|01 ... with one small result */
        CHECK(size >= 5 && in[0] == 0xC4 && in[1] == 1);
        CHECK(((rc >> 8) & 0xFF) == in[2]);
        int kind = rc & 0xFF;
        if (kind == 255)
            CHECK(size == 5 && in[3] == 1 && ctx.value == in[4]);
        else if (kind == 9)
            CHECK(in[3] == 0 && in[4] == 9 && (size_t)in[5] + 6 == size);
        else
            CHECK(in[3] == 0 && (in[4] == kind || (kind == 0 && in[4] == 0)));
    } else if (rc > 0) {
        CHECK((size_t)rc == ctx.res.out_len && ctx.res.end == size);
        CHECK(fz_program_ok(out, (size_t)rc));
        size_t n = (size_t)rc;
        if (n >= 16) {
            uint8_t *exact;
            int erc = decode(in, size, n, &exact);
            CHECK(erc == rc && memcmp(exact, out, n) == 0);
            free(exact);
            if (n - 1 >= 16) {
                erc = decode(in, size, n - 1, &exact);
                CHECK(erc == DM_ERR_NO_SPACE);
                free(exact);
            }
        }
    } else {
        CHECK(known_status(rc));
        CHECK(ctx.res.out_len == 0);
        CHECK(ctx.res.err_offset <= size);
        if (ctx.res.in_data) {
            /* the failing Data value fails alone with the same code at the same place */
            CHECK(rc != DM_ERR_APDU_NOT_HOT && rc != DM_ERR_APDU_FLAG);
        }
    }
    free(out);
    free(in);
    return 0;
}
