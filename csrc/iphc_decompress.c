/* RFC 6282 IPHC + NHC-UDP header decompression (RFC 6282 sections 3 and 4.3).
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

/* The address a unicast SAM/DAM (with ac the SAC/DAC bit) stands for, from
 * its inline bytes f, after the caller checked the context and the
 * link-layer address. */
static void unicast_address(const uint8_t *f, int ac, int mode, const dm_lowpan_context *c, const uint8_t *ll,
                            uint8_t ll_len, uint8_t a[16])
{
    uint8_t iid[8];
    if (mode == 0) {
        if (ac)
            memset(a, 0, 16);
        else
            memcpy(a, f, 16);
        return;
    }
    if (mode == 1) {
        memcpy(iid, f, 8);
    } else if (mode == 2) {
        memcpy(iid, dm_iphc_short_iid, 6);
        iid[6] = f[0];
        iid[7] = f[1];
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

/* The next n bytes of the frame, at f; DM_ERR_TRUNCATED where they would
 * start when the frame ends first. */
#define TAKE(n, f)                                                 \
    do {                                                           \
        if (dm_read_bytes(&cur, end, (n), &(f)) != DM_OK)          \
            FAIL(DM_ERR_TRUNCATED, (size_t)(cur - in));            \
    } while (0)

static int decompress_one(const uint8_t *in, size_t len, const dm_ll_pair *ll, const dm_lowpan_context *ctx,
                          uint32_t dsize, uint8_t *out, size_t cap, dm_lowpan_item *it, size_t *err_offset)
{
    static const dm_ll_pair none = {{0}, {0}, 0, 0};
    if (ll == NULL)
        ll = &none;
    const uint8_t *cur = in, *const end = in + len, *f;
    uint8_t dispatch;
    if (dm_peek_u8(cur, end, &dispatch) != DM_OK)
        FAIL(DM_ERR_TRUNCATED, 0);
    if ((dispatch & 0xE0) != 0x60)
        FAIL(DM_ERR_LOWPAN_DISPATCH, 0);
    TAKE(2, f);
    int tf = (f[0] >> 3) & 3, nhc = (f[0] >> 2) & 1, hlim = f[0] & 3;
    int cid = f[1] >> 7, sac = (f[1] >> 6) & 1, sam = (f[1] >> 4) & 3;
    int m = (f[1] >> 3) & 1, dac = (f[1] >> 2) & 1, dam = f[1] & 3;
    unsigned sci = 0, dci = 0;
    if (cid) {
        TAKE(1, f);
        sci = f[0] >> 4;
        dci = f[0] & 15;
    }
    size_t ctx_byte = cid ? 2 : 1; /* where a bad context id is reported */

    uint8_t tc = 0;
    uint32_t fl = 0;
    TAKE(TF_BYTES[tf], f);
    switch (tf) {
    case 0:
        tc = (uint8_t)((f[0] & 0x3F) << 2 | f[0] >> 6);
        fl = (uint32_t)(f[1] & 0x0F) << 16 | (uint32_t)f[2] << 8 | f[3];
        break;
    case 1:
        tc = (uint8_t)(f[0] >> 6);
        fl = (uint32_t)(f[0] & 0x0F) << 16 | (uint32_t)f[1] << 8 | f[2];
        break;
    case 2:
        tc = (uint8_t)((f[0] & 0x3F) << 2 | f[0] >> 6);
        break;
    default:
        break;
    }
    uint8_t nh = DM_IPV6_NH_UDP, hop = HOP_LIMITS[hlim];
    if (!nhc) {
        TAKE(1, f);
        nh = f[0];
    }
    if (hlim == 0) {
        TAKE(1, f);
        hop = f[0];
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
    TAKE((size_t)(sac && sam == 0 ? 0 : UNICAST_INLINE[sam]), f);
    unicast_address(f, sac, sam, ctx ? &ctx[sci] : NULL, ll->src, ll->src_len, src);
    /* destination */
    if (m) {
        if (dac && dam != 0)
            FAIL(DM_ERR_LOWPAN_RESERVED, 1);
        if (dac) {
            if (!dm_iphc_ctx_usable(ctx, dci, DM_CONTEXT_DECOMPRESS))
                FAIL(DM_ERR_LOWPAN_CONTEXT, ctx_byte);
            info |= DM_IPHC_INFO_DAC | dci << 12;
            TAKE(6, f);
            dm_iphc_ctx_multicast(&ctx[dci], f, dst);
        } else {
            TAKE(MULTICAST_INLINE[dam], f);
            memset(dst, 0, 16);
            dst[0] = 0xff;
            switch (dam) {
            case 0:
                memcpy(dst, f, 16);
                break;
            case 1:
                dst[1] = f[0];
                memcpy(dst + 11, f + 1, 5);
                break;
            case 2:
                dst[1] = f[0];
                memcpy(dst + 13, f + 1, 3);
                break;
            default:
                dst[1] = 0x02;
                dst[15] = f[0];
                break;
            }
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
        TAKE(UNICAST_INLINE[dam], f);
        unicast_address(f, dac, dam, ctx ? &ctx[dci] : NULL, ll->dst, ll->dst_len, dst);
    }

    /* NHC-UDP */
    uint16_t sport = 0, dport = 0, check = 0;
    int elided = 0;
    if (nhc) {
        uint8_t b;
        if (dm_peek_u8(cur, end, &b) != DM_OK)
            FAIL(DM_ERR_TRUNCATED, (size_t)(cur - in));
        if ((b & DM_IPHC_NHC_UDP_MASK) != DM_IPHC_NHC_UDP)
            FAIL(DM_ERR_LOWPAN_NHC, (size_t)(cur - in));
        cur++;
        int ports = b & 3;
        elided = (b >> 2) & 1;
        TAKE(PORT_BYTES[ports], f);
        switch (ports) {
        case 0:
            sport = dm_be16(f);
            dport = dm_be16(f + 2);
            break;
        case 1:
            sport = dm_be16(f);
            dport = (uint16_t)(0xF000 | f[2]);
            break;
        case 2:
            sport = (uint16_t)(0xF000 | f[0]);
            dport = dm_be16(f + 1);
            break;
        default:
            sport = (uint16_t)(0xF0B0 | f[0] >> 4);
            dport = (uint16_t)(0xF0B0 | (f[0] & 15));
            break;
        }
        if (!elided) {
            TAKE(2, f);
            check = dm_be16(f);
        }
        info |= DM_IPHC_INFO_UDP | (elided ? DM_IPHC_INFO_ELIDED : 0);
    }

    /* lengths: from the frame, or from the FRAG1 datagram_size */
    const size_t p = (size_t)(cur - in);
    size_t head = nhc ? DM_IPV6_HEADER + DM_UDP_HEADER : DM_IPV6_HEADER;
    size_t payload = dm_left(cur, end);
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
    dm_put_be16(out + 4, (uint16_t)ip_payload);
    out[6] = nh;
    out[7] = hop;
    memcpy(out + 8, src, 16);
    memcpy(out + 24, dst, 16);
    memcpy(out + head, cur, payload);
    if (nhc) {
        uint8_t *u = out + DM_IPV6_HEADER;
        dm_put_be16(u, sport);
        dm_put_be16(u + 2, dport);
        dm_put_be16(u + 4, (uint16_t)ip_payload);
        dm_put_be16(u + 6, check);
        if (elided && dsize == 0) {
            int32_t c = dm_udp_checksum(src, dst, u, ip_payload);
            dm_put_be16(u + 6, (uint16_t)c);
        } else if (elided)
            info |= DM_IPHC_INFO_PENDING;
    }
    it->length = (uint32_t)(head + payload);
    it->header_length = (uint32_t)p;
    it->info = info;
    return DM_OK;
}

#undef TAKE

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
