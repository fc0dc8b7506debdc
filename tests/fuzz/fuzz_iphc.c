/* libFuzzer harness: RFC 6282 IPHC + NHC-UDP decompression (csrc/iphc_decompress.c,
 * dm_iphc_decompress), and compression of what was decompressed.
 *
 * Input: one 6LoWPAN frame starting at its IPHC dispatch (011xxxxx), or a
 * FRAG1 frame (11000xxx: its datagram_size goes to the decompressor, the
 * content after the 4-byte header is the IPHC frame).
 * Checks, for each fixed link-layer address pair: the documented errors at
 * offsets inside the frame; a decompressed datagram is IPv6 with consistent
 * lengths; recompressing it (with the same addresses and contexts) gives a
 * frame no longer than the input that decompresses to the same datagram;
 * the same frame as item 2 of a 3-item batch gives the same item; with a
 * datagram_size equal to the decompressed length the same bytes come out
 * (the elided checksum left 0 and pending).
 */
#include "fuzz_lowpan.h"

static int known_status(int rc)
{
    return rc == DM_OK || rc == DM_ERR_TRUNCATED || rc == DM_ERR_LOWPAN_DISPATCH || rc == DM_ERR_LOWPAN_RESERVED ||
           rc == DM_ERR_LOWPAN_CONTEXT || rc == DM_ERR_LOWPAN_LINK || rc == DM_ERR_LOWPAN_NHC ||
           rc == DM_ERR_LOWPAN_SIZE;
}

static void one(const uint8_t *frame, size_t len, const dm_ll_pair *ll, const dm_lowpan_context *ctx, uint32_t dsize)
{
    uint32_t end = (uint32_t)len;
    size_t cap = len + 48;
    uint8_t *out = fz_alloc(cap);
    dm_lowpan_item it;
    int rc = dm_iphc_decompress(frame, &end, 1, ll, 1, ctx, dsize, out, cap, &it);
    CHECK(rc == 0 || rc == 1);
    CHECK(known_status(it.status) && (rc == 1) == (it.status != DM_OK));
    if (it.status != DM_OK) {
        CHECK(it.err_offset <= len && it.length == 0);
        free(out);
        return;
    }
    size_t n = it.length;
    int udp = (it.info & DM_IPHC_INFO_UDP) != 0;
    CHECK(n >= (udp ? 48u : 40u) && n <= cap && it.header_length <= len);
    CHECK(n - (udp ? 48u : 40u) == len - it.header_length);
    CHECK(out[0] >> 4 == 6);
    uint32_t plen = (uint32_t)out[4] << 8 | out[5];
    if (dsize == 0)
        CHECK(plen == n - 40);
    else
        CHECK(plen == dsize - 40);
    if (udp)
        CHECK(out[6] == 17 && ((uint32_t)out[44] << 8 | out[45]) == plen);
    CHECK(!(it.info & DM_IPHC_INFO_PENDING) == !(dsize != 0 && (it.info & DM_IPHC_INFO_ELIDED)));

    /* exact room suffices, one byte less does not */
    uint8_t *tight = fz_alloc(n);
    dm_lowpan_item it2;
    CHECK(dm_iphc_decompress(frame, &end, 1, ll, 1, ctx, dsize, tight, n, &it2) == 0);
    CHECK(it2.length == n && memcmp(tight, out, n) == 0);
    CHECK(dm_iphc_decompress(frame, &end, 1, ll, 1, ctx, dsize, tight, n - 1, &it2) == DM_ERR_NO_SPACE);
    free(tight);

    if (dsize == 0) {
        /* recompress: never longer, and back to the same datagram */
        uint32_t dend = (uint32_t)n;
        uint8_t *frame2 = fz_alloc(n + 1);
        dm_lowpan_item ci;
        int flags = (it.info & DM_IPHC_INFO_ELIDED) ? DM_IPHC_ELIDE_CHECKSUM : 0;
        int crc = dm_iphc_compress(out, &dend, 1, ll, 1, ctx, flags, frame2, n + 1, &ci);
        CHECK(crc == 0 && ci.status == DM_OK);
        CHECK(ci.length <= len);
        uint8_t *back = fz_alloc(ci.length + 48);
        uint32_t fend = ci.length;
        dm_lowpan_item bi;
        CHECK(dm_iphc_decompress(frame2, &fend, 1, ll, 1, ctx, 0, back, ci.length + 48, &bi) == 0);
        CHECK(bi.length == n && memcmp(back, out, n) == 0);
        free(back);
        free(frame2);

        /* with datagram_size = n (a FRAG1 holding it all): the same bytes */
        uint8_t *f1 = fz_alloc(n + 48);
        dm_lowpan_item fi;
        CHECK(dm_iphc_decompress(frame, &end, 1, ll, 1, ctx, (uint32_t)n, f1, n + 48, &fi) == 0);
        CHECK(fi.length == n && fi.header_length == it.header_length);
        if (it.info & DM_IPHC_INFO_ELIDED) {
            CHECK(fi.info == (it.info | DM_IPHC_INFO_PENDING));
            CHECK(f1[46] == 0 && f1[47] == 0);
            CHECK(memcmp(f1, out, 46) == 0 && memcmp(f1 + 48, out + 48, n - 48) == 0);
        } else {
            CHECK(fi.info == it.info && memcmp(f1, out, n) == 0);
        }
        free(f1);
    }
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *in = fz_dup(data, size);
    dm_lowpan_context ctx[DM_LOWPAN_CONTEXTS];
    fz_contexts(ctx);
    const uint8_t *frame = in;
    size_t len = size;
    uint32_t dsize = 0;
    if (size >= 4 && (in[0] & 0xF8) == 0xC0) { /* FRAG1 */
        dsize = (uint32_t)(in[0] & 7) << 8 | in[1];
        frame = in + 4;
        len = size - 4;
    }
    uint8_t *f = fz_dup(frame, len);
    for (int k = 0; k < FZ_LL_CONFIGS; k++)
        one(f, len, &FZ_LL[k], ctx, dsize);
    one(f, len, NULL, NULL, dsize);

    /* as the middle item of a batch, between two copies of a known frame */
    static const uint8_t T[] = {0x7E, 0x77, 0xF3, 0x34, 0x98, 0x9B, 0x01, 0x02};
    size_t total = sizeof T + len + sizeof T;
    uint8_t *batch = fz_alloc(total);
    memcpy(batch, T, sizeof T);
    memcpy(batch + sizeof T, f, len);
    memcpy(batch + sizeof T + len, T, sizeof T);
    uint32_t ends[3] = {(uint32_t)sizeof T, (uint32_t)(sizeof T + len), (uint32_t)total};
    size_t cap = total + 3 * 48;
    uint8_t *out = fz_alloc(cap), *solo = fz_alloc(len + 48);
    dm_lowpan_item items[3], s;
    int rc = dm_iphc_decompress(batch, ends, 3, &FZ_LL[0], 1, ctx, 0, out, cap, items);
    uint32_t end = (uint32_t)len;
    int src = dm_iphc_decompress(f, &end, 1, &FZ_LL[0], 1, ctx, 0, solo, len + 48, &s);
    CHECK(rc >= 0 && rc == src + (items[0].status != DM_OK) * 2);
    CHECK(items[1].status == s.status && items[1].err_offset == s.err_offset && items[1].length == s.length &&
          items[1].info == s.info && items[1].header_length == s.header_length);
    CHECK(items[1].offset == items[0].offset + items[0].length);
    if (s.status == DM_OK)
        CHECK(memcmp(out + items[1].offset, solo, s.length) == 0);
    CHECK(items[2].status == items[0].status && items[2].length == items[0].length);
    CHECK(memcmp(out + items[2].offset, out + items[0].offset, items[0].length) == 0);
    free(out);
    free(solo);
    free(batch);
    free(f);
    free(in);
    return 0;
}
