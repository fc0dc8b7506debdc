/* RFC 6282 IPHC + NHC-UDP header decompression (spec/sixlowpan.md sections 2-4).
 *
 * Both directions work on wire bytes: an uncompressed IPv6 datagram (header,
 * UDP header, payload) on one side, an IPHC frame (compressed headers,
 * payload) on the other, so one C call handles a whole batch without any
 * Python object crossing.  The order of checks, the error offsets and the
 * choice among equally short encodings follow python/dlmsmesh/_pure/iphc.py
 * exactly: both backends give the same bytes and the same errors.  The
 * other direction is in iphc_compress.c.
 */
#include <string.h>

#include "checksum.h"
#include "iphc.h"

#define FAIL(code, off)          \
    do {                         \
        *err_offset = (off);     \
        return (code);           \
    } while (0)

static const uint8_t HOP_LIMITS[4] = {0, 1, 64, 255};
static const uint8_t TF_BYTES[4] = {4, 3, 1, 0};
static const uint8_t PORT_BYTES[4] = {4, 3, 3, 1};

/* ------------------------------------------------------------------------
 * decompression
 * ------------------------------------------------------------------------ */

/* The address a unicast SAM/DAM (with ac the SAC/DAC bit) stands for, after
 * the caller checked the context and the link-layer address; *p advances
 * past the inline bytes. */
static void unicast_address(const uint8_t *in, size_t *p, int ac, int mode, const dm_lowpan_context *c,
                            const uint8_t *ll, uint8_t ll_len, uint8_t a[16])
{
    uint8_t iid[8];
    if (mode == 0) {
        if (ac)
            memset(a, 0, 16);
        else {
            memcpy(a, in + *p, 16);
            *p += 16;
        }
        return;
    }
    if (mode == 1) {
        memcpy(iid, in + *p, 8);
        *p += 8;
    } else if (mode == 2) {
        memcpy(iid, dm_iphc_short_iid, 6);
        iid[6] = in[*p];
        iid[7] = in[*p + 1];
        *p += 2;
    } else if (!dm_iphc_ll_iid(ll, ll_len, iid)) {
        memset(iid, 0, 8); /* not reached: the caller checked the link-layer address */
    }
    if (ac)
        dm_iphc_ctx_unicast(c, iid, a);
    else {
        memcpy(a, dm_iphc_link_local, 8);
        memcpy(a + 8, iid, 8);
    }
}

static const uint8_t UNICAST_INLINE[4] = {16, 8, 2, 0};
static const uint8_t MULTICAST_INLINE[4] = {16, 6, 4, 1};

static int decompress_one(const uint8_t *in, size_t len, const dm_ll_pair *ll, const dm_lowpan_context *ctx,
                          uint32_t dsize, uint8_t *out, size_t cap, dm_lowpan_item *it, size_t *err_offset)
{
    static const dm_ll_pair none = {{0}, {0}, 0, 0};
    if (ll == NULL)
        ll = &none;
    if (len == 0)
        FAIL(DM_ERR_TRUNCATED, 0);
    if ((in[0] & 0xE0) != 0x60)
        FAIL(DM_ERR_LOWPAN_DISPATCH, 0);
    if (len < 2)
        FAIL(DM_ERR_TRUNCATED, 0);
    int tf = (in[0] >> 3) & 3, nhc = (in[0] >> 2) & 1, hlim = in[0] & 3;
    int cid = in[1] >> 7, sac = (in[1] >> 6) & 1, sam = (in[1] >> 4) & 3;
    int m = (in[1] >> 3) & 1, dac = (in[1] >> 2) & 1, dam = in[1] & 3;
    size_t p = 2;
    unsigned sci = 0, dci = 0;
    if (cid) {
        if (len - p < 1)
            FAIL(DM_ERR_TRUNCATED, p);
        sci = in[p] >> 4;
        dci = in[p] & 15;
        p++;
    }
    size_t ctx_byte = cid ? 2 : 1; /* where a bad context id is reported */

    uint8_t tc = 0;
    uint32_t fl = 0;
    if (len - p < TF_BYTES[tf])
        FAIL(DM_ERR_TRUNCATED, p);
    switch (tf) {
    case 0:
        tc = (uint8_t)((in[p] & 0x3F) << 2 | in[p] >> 6);
        fl = (uint32_t)(in[p + 1] & 0x0F) << 16 | (uint32_t)in[p + 2] << 8 | in[p + 3];
        break;
    case 1:
        tc = (uint8_t)(in[p] >> 6);
        fl = (uint32_t)(in[p] & 0x0F) << 16 | (uint32_t)in[p + 1] << 8 | in[p + 2];
        break;
    case 2:
        tc = (uint8_t)((in[p] & 0x3F) << 2 | in[p] >> 6);
        break;
    default:
        break;
    }
    p += TF_BYTES[tf];
    uint8_t nh = DM_IPHC_NH_UDP, hop = HOP_LIMITS[hlim];
    if (!nhc) {
        if (len - p < 1)
            FAIL(DM_ERR_TRUNCATED, p);
        nh = in[p++];
    }
    if (hlim == 0) {
        if (len - p < 1)
            FAIL(DM_ERR_TRUNCATED, p);
        hop = in[p++];
    }

    uint8_t src[16], dst[16];
    uint32_t info = 0;
    /* source */
    if (sac && sam != 0) {
        if (!dm_iphc_ctx_usable(ctx, sci, DM_CONTEXT_DECOMPRESS))
            FAIL(DM_ERR_LOWPAN_CONTEXT, ctx_byte);
        info |= DM_IPHC_INFO_SAC | sci << 8;
    }
    if (sam == 3 && ll->src_len != 2 && ll->src_len != 8)
        FAIL(DM_ERR_LOWPAN_LINK, 1);
    if (len - p < (size_t)(sac && sam == 0 ? 0 : UNICAST_INLINE[sam]))
        FAIL(DM_ERR_TRUNCATED, p);
    unicast_address(in, &p, sac, sam, ctx ? &ctx[sci] : NULL, ll->src, ll->src_len, src);
    /* destination */
    if (m) {
        if (dac && dam != 0)
            FAIL(DM_ERR_LOWPAN_RESERVED, 1);
        if (dac) {
            if (!dm_iphc_ctx_usable(ctx, dci, DM_CONTEXT_DECOMPRESS))
                FAIL(DM_ERR_LOWPAN_CONTEXT, ctx_byte);
            info |= DM_IPHC_INFO_DAC | dci << 12;
            if (len - p < 6)
                FAIL(DM_ERR_TRUNCATED, p);
            dm_iphc_ctx_multicast(&ctx[dci], in + p, dst);
            p += 6;
        } else {
            if (len - p < MULTICAST_INLINE[dam])
                FAIL(DM_ERR_TRUNCATED, p);
            memset(dst, 0, 16);
            dst[0] = 0xff;
            switch (dam) {
            case 0:
                memcpy(dst, in + p, 16);
                break;
            case 1:
                dst[1] = in[p];
                memcpy(dst + 11, in + p + 1, 5);
                break;
            case 2:
                dst[1] = in[p];
                memcpy(dst + 13, in + p + 1, 3);
                break;
            default:
                dst[1] = 0x02;
                dst[15] = in[p];
                break;
            }
            p += MULTICAST_INLINE[dam];
        }
    } else {
        if (dac) {
            if (dam == 0)
                FAIL(DM_ERR_LOWPAN_RESERVED, 1);
            if (!dm_iphc_ctx_usable(ctx, dci, DM_CONTEXT_DECOMPRESS))
                FAIL(DM_ERR_LOWPAN_CONTEXT, ctx_byte);
            info |= DM_IPHC_INFO_DAC | dci << 12;
        }
        if (dam == 3 && ll->dst_len != 2 && ll->dst_len != 8)
            FAIL(DM_ERR_LOWPAN_LINK, 1);
        if (len - p < UNICAST_INLINE[dam])
            FAIL(DM_ERR_TRUNCATED, p);
        unicast_address(in, &p, dac, dam, ctx ? &ctx[dci] : NULL, ll->dst, ll->dst_len, dst);
    }

    /* NHC-UDP */
    uint16_t sport = 0, dport = 0, check = 0;
    int elided = 0;
    if (nhc) {
        if (len - p < 1)
            FAIL(DM_ERR_TRUNCATED, p);
        uint8_t b = in[p];
        if ((b & DM_IPHC_NHC_UDP_MASK) != DM_IPHC_NHC_UDP)
            FAIL(DM_ERR_LOWPAN_NHC, p);
        p++;
        int ports = b & 3;
        elided = (b >> 2) & 1;
        if (len - p < PORT_BYTES[ports])
            FAIL(DM_ERR_TRUNCATED, p);
        const uint8_t *q = in + p;
        switch (ports) {
        case 0:
            sport = dm_be16(q);
            dport = dm_be16(q + 2);
            break;
        case 1:
            sport = dm_be16(q);
            dport = (uint16_t)(0xF000 | q[2]);
            break;
        case 2:
            sport = (uint16_t)(0xF000 | q[0]);
            dport = dm_be16(q + 1);
            break;
        default:
            sport = (uint16_t)(0xF0B0 | q[0] >> 4);
            dport = (uint16_t)(0xF0B0 | (q[0] & 15));
            break;
        }
        p += PORT_BYTES[ports];
        if (!elided) {
            if (len - p < 2)
                FAIL(DM_ERR_TRUNCATED, p);
            check = dm_be16(in + p);
            p += 2;
        }
        info |= DM_IPHC_INFO_UDP | (elided ? DM_IPHC_INFO_ELIDED : 0);
    }

    /* lengths: from the frame, or from the FRAG1 datagram_size */
    size_t head = nhc ? DM_IPV6_HEADER + DM_UDP_HEADER : DM_IPV6_HEADER;
    size_t payload = len - p;
    size_t ip_payload;
    if (dsize == 0) {
        ip_payload = payload + head - DM_IPV6_HEADER;
        if (ip_payload > 0xFFFF)
            FAIL(DM_ERR_LOWPAN_SIZE, p);
    } else {
        if (dsize < head || payload > dsize - head || dsize - DM_IPV6_HEADER > 0xFFFF)
            FAIL(DM_ERR_LOWPAN_SIZE, p);
        ip_payload = dsize - DM_IPV6_HEADER;
    }
    if (cap < head + payload)
        return DM_ERR_NO_SPACE;

    out[0] = (uint8_t)(0x60 | tc >> 4);
    out[1] = (uint8_t)(tc << 4 | fl >> 16);
    out[2] = (uint8_t)(fl >> 8);
    out[3] = (uint8_t)fl;
    dm_put_be16(out + 4, (uint32_t)ip_payload);
    out[6] = nh;
    out[7] = hop;
    memcpy(out + 8, src, 16);
    memcpy(out + 24, dst, 16);
    memcpy(out + head, in + p, payload);
    if (nhc) {
        uint8_t *u = out + DM_IPV6_HEADER;
        dm_put_be16(u, sport);
        dm_put_be16(u + 2, dport);
        dm_put_be16(u + 4, (uint32_t)ip_payload);
        dm_put_be16(u + 6, check);
        if (elided && dsize == 0) {
            int32_t c = dm_udp_checksum(src, dst, u, ip_payload);
            dm_put_be16(u + 6, (uint32_t)c);
        } else if (elided)
            info |= DM_IPHC_INFO_PENDING;
    }
    it->length = (uint32_t)(head + payload);
    it->header_length = (uint32_t)p;
    it->info = info;
    return DM_OK;
}

int dm_iphc_decompress(const uint8_t *in, const uint32_t *in_end, size_t n, const dm_ll_pair *ll,
                       size_t ll_count, const dm_lowpan_context *ctx, uint32_t datagram_size, uint8_t *out,
                       size_t out_cap, dm_lowpan_item *items)
{
    int rc = dm_iphc_check_batch(in_end, n, ll_count);
    if (rc < 0)
        return rc;
    size_t pos = 0;
    int failed = 0;
    for (size_t i = 0; i < n; i++) {
        size_t start = dm_iphc_item_start(in_end, i);
        dm_lowpan_item *it = &items[i];
        size_t err = 0;
        it->offset = (uint32_t)pos;
        it->length = 0;
        it->header_length = 0;
        it->info = 0;
        it->err_offset = 0;
        int st = decompress_one(in + start, in_end[i] - start, dm_iphc_item_ll(ll, ll_count, i), ctx, datagram_size,
                                out + pos, out_cap - pos, it, &err);
        if (st == DM_ERR_NO_SPACE)
            return st;
        it->status = st;
        if (st < 0) {
            it->err_offset = (uint32_t)err;
            it->length = 0;
            it->header_length = 0;
            it->info = 0;
            failed++;
            continue;
        }
        pos += it->length;
    }
    return failed;
}
