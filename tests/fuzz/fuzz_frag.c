/* libFuzzer harness: RFC 4944 fragmentation (csrc/frag.c, dm_frag_split)
 * and reassembly of the fragments through FRAG1 decompression
 * (dm_iphc_decompress with a datagram_size).
 *
 * The C core has no reassembler of its own (per-peer state, timers and
 * memory limits live in python/dlmsmesh/lowpan/reassembly.py, fuzzed by the
 * atheris harness fuzz_lowpan_py.py); here the harness reassembles the byte
 * stream the splitter produced, the way a receiver does, and checks that the
 * datagram comes back.
 *
 * Input: byte 0 the link MTU (40 + byte), byte 1 flags (bit 0: elide the
 * UDP checksum, bits 1-2: mesh-header prefix length 0/5/9/17, bits 4-5: the
 * link-layer address pair), bytes 2-3 the tag, then an IPv6 datagram (the
 * version, payload length and UDP length are made consistent, so that most
 * inputs split).
 * Checks: every frame fits the MTU and starts with the prefix; FRAG1 carries
 * the whole compressed header; FRAGN offsets are multiples of 8 covering the
 * datagram exactly once; the reassembled datagram equals the input; too
 * small output/frame arrays give DM_ERR_NO_SPACE.
 */
#include "fuzz_lowpan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4 + 40)
        return 0;
    dm_lowpan_context ctx[DM_LOWPAN_CONTEXTS];
    fz_contexts(ctx);
    uint32_t mtu = 40u + data[0];
    int elide = data[1] & 1;
    static const size_t PREFIX_LEN[4] = {0, 5, 9, 17};
    size_t prefix_len = PREFIX_LEN[(data[1] >> 1) & 3];
    const dm_ll_pair *ll = &FZ_LL[(data[1] >> 4) & 3];
    uint16_t tag = (uint16_t)(data[2] << 8 | data[3]);
    size_t n = size - 4;
    if (n > 2100)
        n = 2100; /* a little past the 2047-byte limit */
    uint8_t *dg = fz_dup(data + 4, n);
    dg[0] = (uint8_t)(0x60 | (dg[0] & 0x0F));
    dg[4] = (uint8_t)((n - 40) >> 8);
    dg[5] = (uint8_t)(n - 40);
    int udp = dg[6] == 17 && n >= 48;
    if (udp) {
        dg[44] = dg[4];
        dg[45] = dg[5];
        if (elide) {
            int32_t c = dm_udp_checksum(dg + 8, dg + 24, dg + 40, n - 40);
            CHECK(c > 0);
            dg[46] = (uint8_t)(c >> 8);
            dg[47] = (uint8_t)c;
        }
    }
    uint8_t prefix[17];
    for (size_t i = 0; i < prefix_len; i++)
        prefix[i] = (uint8_t)(0x80 | i); /* a mesh header (10xxxxxx) and some bytes */

    size_t out_cap = n + 64 * (n / 8 + 2) + prefix_len * (n / 8 + 2);
    size_t max_frames = n / 8 + 2;
    uint8_t *out = fz_alloc(out_cap);
    uint32_t *frame_end = fz_alloc(max_frames * sizeof(uint32_t));
    dm_lowpan_item res;
    int count = dm_frag_split(dg, n, ll, ctx, elide ? DM_IPHC_ELIDE_CHECKSUM : 0, mtu, tag,
                              prefix_len ? prefix : NULL, prefix_len, out, out_cap, frame_end, max_frames, &res);
    if (count < 0) {
        CHECK(count == DM_ERR_FRAG_TOO_BIG || count == DM_ERR_FRAG_MTU);
        if (count == DM_ERR_FRAG_TOO_BIG)
            CHECK(n > 2047);
        goto done;
    }
    CHECK(count >= 1 && (size_t)count <= max_frames);
    uint8_t *back = fz_alloc(n + 48);
    uint8_t *seen = fz_alloc(n);
    memset(seen, 0, n);
    size_t start = 0;
    int pending = 0;
    for (int k = 0; k < count; k++) {
        size_t end = frame_end[k];
        CHECK(end > start && end - start <= mtu && end <= out_cap);
        const uint8_t *f = out + start;
        size_t flen = end - start;
        CHECK(flen >= prefix_len && memcmp(f, prefix, prefix_len) == 0);
        f += prefix_len;
        flen -= prefix_len;
        dm_lowpan_item it;
        if (count == 1) {
            CHECK((f[0] & 0xE0) == 0x60);
            uint32_t e = (uint32_t)flen;
            CHECK(dm_iphc_decompress(f, &e, 1, ll, 1, ctx, 0, back, n + 48, &it) == 0);
            CHECK(it.length == n && it.header_length == res.header_length);
            memset(seen, 1, n);
        } else if (k == 0) {
            CHECK(flen >= 4 && (f[0] & 0xF8) == 0xC0);
            CHECK(((size_t)(f[0] & 7) << 8 | f[1]) == n && (f[2] << 8 | f[3]) == tag);
            uint32_t e = (uint32_t)(flen - 4);
            CHECK(dm_iphc_decompress(f + 4, &e, 1, ll, 1, ctx, (uint32_t)n, back, n + 48, &it) == 0);
            CHECK(it.header_length == res.header_length && it.length <= n && it.length % 8 == 0);
            pending = (it.info & DM_IPHC_INFO_PENDING) != 0;
            memset(seen, 1, it.length);
        } else {
            CHECK(flen > 5 && (f[0] & 0xF8) == 0xE0);
            CHECK(((size_t)(f[0] & 7) << 8 | f[1]) == n && (f[2] << 8 | f[3]) == tag);
            size_t off = (size_t)f[4] * 8, len = flen - 5;
            CHECK(off <= n && len <= n - off);
            if (k + 1 < count)
                CHECK(len % 8 == 0);
            for (size_t i = 0; i < len; i++) {
                CHECK(!seen[off + i]);
                seen[off + i] = 1;
            }
            memcpy(back + off, f + 5, len);
        }
        start = end;
    }
    CHECK(start == res.length);
    for (size_t i = 0; i < n; i++)
        CHECK(seen[i]);
    if (pending) {
        CHECK(elide && udp);
        int32_t c = dm_udp_checksum(back + 8, back + 24, back + 40, n - 40);
        back[46] = (uint8_t)(c >> 8);
        back[47] = (uint8_t)c;
    }
    CHECK(memcmp(back, dg, n) == 0);

    /* too little room, or one frame slot too few */
    if (res.length > 0) {
        CHECK(dm_frag_split(dg, n, ll, ctx, elide ? DM_IPHC_ELIDE_CHECKSUM : 0, mtu, tag, prefix_len ? prefix : NULL,
                            prefix_len, out, res.length - 1, frame_end, max_frames, &res) == DM_ERR_NO_SPACE);
        if (count > 1)
            CHECK(dm_frag_split(dg, n, ll, ctx, elide ? DM_IPHC_ELIDE_CHECKSUM : 0, mtu, tag,
                                prefix_len ? prefix : NULL, prefix_len, out, out_cap, frame_end, (size_t)count - 1,
                                &res) == DM_ERR_NO_SPACE);
    }
    free(seen);
    free(back);
done:
    free(frame_end);
    free(out);
    free(dg);
    return 0;
}
