/* Fixed link-layer addresses and IPHC context table of the 6LoWPAN
 * harnesses (the addresses and prefixes of tests/transport_vectors.py, plus
 * odd prefix lengths and a missing entry). */
#ifndef DLMSMESH_FUZZ_LOWPAN_H
#define DLMSMESH_FUZZ_LOWPAN_H

#include "fuzz_common.h"

#define FZ_LL_CONFIGS 4

static const dm_ll_pair FZ_LL[FZ_LL_CONFIGS] = {
    {{0x00, 0x12, 0x4B, 0x00, 0x00, 0x01, 0x02, 0x03}, {0x00, 0x12, 0x4B, 0x00, 0x00, 0x04, 0x05, 0x06}, 8, 8},
    {{0x12, 0x34}, {0x56, 0x78}, 2, 2},
    {{0x00, 0x12, 0x4B, 0x00, 0x00, 0x01, 0x02, 0x03}, {0xAB, 0xCD}, 8, 2},
    {{0}, {0}, 0, 0},
};

static void fz_contexts(dm_lowpan_context ctx[DM_LOWPAN_CONTEXTS])
{
    static const uint8_t P1[16] = {0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01};
    static const uint8_t P2[16] = {0x20, 0x01, 0x0d, 0xb8, 0x00, 0x02};
    static const uint8_t P3[16] = {0x20, 0x01, 0x0d, 0xb8, 0xa5, 0x5a, 0xff, 0x0f, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc};
    static const uint8_t P4[16] = {0xfd, 0x00, 0x00, 0x00, 0x00, 0x00, 0xca, 0xfe, 0x01, 0x02, 0x03, 0x04,
                                   0x05, 0x06, 0x07, 0x08};
    memset(ctx, 0, sizeof(dm_lowpan_context) * DM_LOWPAN_CONTEXTS);
    const int both = DM_CONTEXT_DECOMPRESS | DM_CONTEXT_COMPRESS;
    memcpy(ctx[0].prefix, P1, 16), ctx[0].length = 64, ctx[0].flags = both;
    memcpy(ctx[1].prefix, P2, 16), ctx[1].length = 64, ctx[1].flags = both;
    memcpy(ctx[2].prefix, P3, 16), ctx[2].length = 37, ctx[2].flags = both;
    memcpy(ctx[3].prefix, P4, 16), ctx[3].length = 128, ctx[3].flags = both;
    memcpy(ctx[4].prefix, P3, 16), ctx[4].length = 112, ctx[4].flags = both;
    memcpy(ctx[5].prefix, P4, 16), ctx[5].length = 0, ctx[5].flags = both;
    memcpy(ctx[6].prefix, P1, 16), ctx[6].length = 48, ctx[6].flags = DM_CONTEXT_COMPRESS; /* not for decompression */
    memcpy(ctx[15].prefix, P2, 16), ctx[15].length = 72, ctx[15].flags = both;
}

#endif
