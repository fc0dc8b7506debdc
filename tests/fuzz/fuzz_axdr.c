/* libFuzzer harness: A-XDR Data decode (csrc/axdr_decode.c, dm_axdr_decode)
 * and the C-side encode of what was decoded (dm_columns_encode,
 * dm_axdr_pack_rows; see fuzz_columns_rt.h).
 *
 * Input: the bytes to decode, as they come off the wire.
 * Checks: every program is well-formed; DM_DECODE_WHOLE agrees with the
 * prefix decode; decoding at an offset is decoding the suffix; an exact out
 * buffer suffices and one byte less asks for more; a smaller max_depth gives
 * the same program or DM_ERR_TOO_DEEP; the round trip of uniform rows.
 */
#include "fuzz_columns_rt.h"

static int known_status(int rc)
{
    switch (rc) {
    case DM_OK: case DM_ERR_TRUNCATED: case DM_ERR_BAD_TAG: case DM_ERR_BAD_LENGTH: case DM_ERR_TOO_DEEP:
    case DM_ERR_TOO_MANY: case DM_ERR_TRAILING: case DM_ERR_BAD_UTF8: case DM_ERR_BAD_DESCRIPTION:
    case DM_ERR_COMPACT_OVERRUN: case DM_ERR_ZERO_SIZE:
        return 1;
    default:
        return 0;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *in = fz_dup(data, size);
    uint8_t *prog, *whole, *other;
    dm_decode_result res, wres, ores;

    int rc = fz_axdr_program(in, size, 0, 64, 0, &prog, &res);
    CHECK(known_status(rc) && rc != DM_ERR_TRAILING);
    if (rc == DM_OK) {
        CHECK(res.end > 0 && res.end <= size);
        CHECK(fz_program_ok(prog, res.out_len));
    } else {
        CHECK(res.err_offset <= size);
        CHECK(res.out_len == 0);
    }

    /* whole: the prefix result, or trailing bytes at its end */
    int wrc = fz_axdr_program(in, size, 0, 64, DM_DECODE_WHOLE, &whole, &wres);
    if (rc != DM_OK) {
        CHECK(wrc == rc && wres.err_offset == res.err_offset);
    } else if (res.end != size) {
        CHECK(wrc == DM_ERR_TRAILING && wres.err_offset == res.end);
    } else {
        CHECK(wrc == DM_OK && wres.out_len == res.out_len && memcmp(whole, prog, res.out_len) == 0);
    }
    free(whole);

    /* at offset 1: the same as the suffix at offset 0, shifted */
    if (size >= 1) {
        uint8_t *suffix;
        dm_decode_result sres;
        int orc = fz_axdr_program(in, size, 1, 64, DM_DECODE_WHOLE, &other, &ores);
        uint8_t *tail = fz_dup(in + 1, size - 1);
        int src = fz_axdr_program(tail, size - 1, 0, 64, DM_DECODE_WHOLE, &suffix, &sres);
        CHECK(orc == src);
        if (orc == DM_OK) {
            CHECK(ores.end == sres.end + 1);
            CHECK(ores.out_len == sres.out_len && memcmp(other, suffix, ores.out_len) == 0);
        } else {
            CHECK(ores.err_offset == sres.err_offset + 1);
        }
        free(other);
        free(suffix);
        free(tail);
    }

    if (rc == DM_OK) {
        /* exactly out_len bytes suffice; one less asks for more */
        dm_decode_result xres;
        if (res.out_len >= 16) { /* smaller buffers are refused as an argument */
            uint8_t *exact = fz_alloc(res.out_len);
            CHECK(dm_axdr_decode(in, size, 0, 64, 0, exact, res.out_len, &xres) == DM_OK);
            CHECK(xres.out_len == res.out_len && memcmp(exact, prog, res.out_len) == 0);
            if (res.out_len - 1 >= 16)
                CHECK(dm_axdr_decode(in, size, 0, 64, 0, exact, res.out_len - 1, &xres) == DM_ERR_NO_SPACE);
            free(exact);
        }

        /* a smaller depth limit: the same value or too deep */
        for (int depth = 0; depth <= 2; depth++) {
            uint8_t *dprog;
            dm_decode_result dres;
            int drc = fz_axdr_program(in, size, 0, depth, 0, &dprog, &dres);
            CHECK(drc == DM_OK || drc == DM_ERR_TOO_DEEP);
            if (drc == DM_OK)
                CHECK(dres.out_len == res.out_len && memcmp(dprog, prog, res.out_len) == 0);
            free(dprog);
        }

        /* the C encoders give the value back (arrays of uniform rows) */
        if (in[0] == 1) {
            fz_columns_roundtrip(in, res.end, 0, 1, DM_COLUMNS_WHOLE);
            fz_columns_roundtrip(in, res.end, 3, 1000, DM_COLUMNS_WHOLE);
        }
    }
    free(prog);
    free(in);
    return 0;
}
