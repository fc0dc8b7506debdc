/* RFC 6282 IPHC + NHC-UDP header compression (RFC 6282 sections 3 and 4.3).
 *
 * Both directions work on wire bytes: an uncompressed IPv6 datagram (header,
 * UDP header, payload) on one side, an IPHC frame (compressed headers,
 * payload) on the other, so one C call handles a whole batch without any
 * Python object crossing.  The order of checks, the error offsets and the
 * choice among equally short encodings follow python/dlmsmesh/_pure/iphc.py
 * exactly: both backends give the same bytes and the same errors.  The
 * other direction is in iphc_decompress.c.
 */
#include <string.h>

#include "checksum.h"
#include "iphc.h"

#define FAIL(code, off)          \
    do {                         \
        *err_offset = (off);     \
        return (code);           \
    } while (0)

static int all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

/* ------------------------------------------------------------------------
 * compression: choosing the address encodings
 * ------------------------------------------------------------------------ */

typedef struct {
    int cost;     /* inline bytes */
    int ctx;      /* context id, or -1 for none */
    uint8_t ac;   /* SAC/DAC bit */
    uint8_t mode; /* SAM/DAM */
    uint8_t m;    /* M bit (destination) */
} choice;

static choice mk(int cost, int ctx, int ac, int mode, int m)
{
    choice c = {cost, ctx, (uint8_t)ac, (uint8_t)mode, (uint8_t)m};
    return c;
}

/* The cheapest encoding of a unicast address without a context. */
static choice unicast_stateless(const uint8_t *a, const uint8_t *ll, uint8_t ll_len, int is_source)
{
    uint8_t iid[8];
    if (is_source && all_zero(a, 16))
        return mk(0, -1, 1, 0, 0); /* SAC=1 SAM=00: the unspecified address */
    if (memcmp(a, dm_iphc_link_local, 8) != 0)
        return mk(16, -1, 0, 0, 0);
    if (dm_iphc_ll_iid(ll, ll_len, iid) && memcmp(a + 8, iid, 8) == 0)
        return mk(0, -1, 0, 3, 0);
    if (memcmp(a + 8, dm_iphc_short_iid, 6) == 0)
        return mk(2, -1, 0, 2, 0);
    return mk(8, -1, 0, 1, 0);
}

/* The cheapest encoding of a unicast address from context id, or cost < 0. */
static choice unicast_context(const uint8_t *a, const uint8_t *ll, uint8_t ll_len, const dm_lowpan_context *c,
                              int id)
{
    uint8_t iid[8], rebuilt[16];
    if (dm_iphc_ll_iid(ll, ll_len, iid)) {
        dm_iphc_ctx_unicast(c, iid, rebuilt);
        if (memcmp(rebuilt, a, 16) == 0)
            return mk(0, id, 1, 3, 0);
    }
    memcpy(iid, dm_iphc_short_iid, 6);
    iid[6] = a[14];
    iid[7] = a[15];
    dm_iphc_ctx_unicast(c, iid, rebuilt);
    if (memcmp(rebuilt, a, 16) == 0)
        return mk(2, id, 1, 2, 0);
    dm_iphc_ctx_unicast(c, a + 8, rebuilt);
    if (memcmp(rebuilt, a, 16) == 0)
        return mk(8, id, 1, 1, 0);
    return mk(-1, id, 1, 0, 0);
}

static choice multicast_stateless(const uint8_t *a)
{
    if (a[1] == 0x02 && all_zero(a + 2, 13))
        return mk(1, -1, 0, 3, 1); /* ff02::00XX */
    if (all_zero(a + 2, 11))
        return mk(4, -1, 0, 2, 1); /* ffXX::00XX:XXXX */
    if (all_zero(a + 2, 9))
        return mk(6, -1, 0, 1, 1); /* ffXX::00XX:XXXX:XXXX */
    return mk(16, -1, 0, 0, 1);
}

static choice multicast_context(const uint8_t *a, const dm_lowpan_context *c, int id)
{
    uint8_t inl[6], rebuilt[16];
    inl[0] = a[1];
    inl[1] = a[2];
    memcpy(inl + 2, a + 12, 4);
    dm_iphc_ctx_multicast(c, inl, rebuilt);
    if (memcmp(rebuilt, a, 16) == 0)
        return mk(6, id, 1, 0, 1);
    return mk(-1, id, 1, 0, 1);
}

/* The three candidates for one address: [0] without context, [1] context 0
 * (no CID byte needed), [2] the cheapest context 1..15 (lowest id on ties);
 * cost < 0 where there is none. */
static void candidates(const uint8_t *a, const uint8_t *ll, uint8_t ll_len, const dm_lowpan_context *ctx,
                       int is_source, choice out[3])
{
    int multicast = !is_source && a[0] == 0xff;
    out[0] = multicast ? multicast_stateless(a) : unicast_stateless(a, ll, ll_len, is_source);
    out[1] = mk(-1, 0, 1, 0, 0);
    out[2] = mk(-1, 0, 1, 0, 0);
    if (out[0].cost == 0)
        return; /* nothing is cheaper, and ties go to the stateless form */
    for (int id = 0; id < DM_LOWPAN_CONTEXTS; id++) {
        if (!dm_iphc_ctx_usable(ctx, (unsigned)id, DM_CONTEXT_DECOMPRESS | DM_CONTEXT_COMPRESS))
            continue;
        choice c = multicast ? multicast_context(a, &ctx[id], id) : unicast_context(a, ll, ll_len, &ctx[id], id);
        if (c.cost < 0)
            continue;
        int slot = id == 0 ? 1 : 2;
        if (out[slot].cost < 0 || c.cost < out[slot].cost)
            out[slot] = c;
    }
}

/* Inline bytes of the chosen encoding of address a. */
static size_t put_address(uint8_t *p, const uint8_t *a, choice c)
{
    if (c.m && c.ac) { /* ffXX:XXLL:P..P:XXXX:XXXX */
        p[0] = a[1];
        p[1] = a[2];
        memcpy(p + 2, a + 12, 4);
        return 6;
    }
    if (c.m) {
        switch (c.mode) {
        case 0:
            memcpy(p, a, 16);
            return 16;
        case 1:
            p[0] = a[1];
            memcpy(p + 1, a + 11, 5);
            return 6;
        case 2:
            p[0] = a[1];
            memcpy(p + 1, a + 13, 3);
            return 4;
        default:
            p[0] = a[15];
            return 1;
        }
    }
    switch (c.mode) {
    case 0:
        if (c.ac)
            return 0; /* unspecified */
        memcpy(p, a, 16);
        return 16;
    case 1:
        memcpy(p, a + 8, 8);
        return 8;
    case 2:
        memcpy(p, a + 14, 2);
        return 2;
    default:
        return 0;
    }
}

int dm_iphc_compress_header(const uint8_t *in, size_t in_len, const dm_ll_pair *ll, const dm_lowpan_context *ctx,
                            int flags, uint8_t *hdr, size_t *consumed, uint32_t *info, size_t *err_offset)
{
    static const dm_ll_pair none = {{0}, {0}, 0, 0};
    if (ll == NULL)
        ll = &none;
    const uint8_t *cur = in, *const end = in + in_len, *ip, *uh = NULL;
    if (dm_read_bytes(&cur, end, DM_IPV6_HEADER, &ip) != DM_OK)
        FAIL(DM_ERR_TRUNCATED, 0);
    if (ip[0] >> 4 != 6)
        FAIL(DM_ERR_IPV6_VERSION, 0);
    uint32_t plen = dm_be16(ip + 4);
    if (!(flags & DM_IPHC_HEADERS_ONLY) && plen != dm_left(cur, end))
        FAIL(DM_ERR_IPV6_LENGTH, 4);
    uint8_t tc = (uint8_t)((ip[0] << 4) | (ip[1] >> 4));
    uint32_t fl = ((uint32_t)(ip[1] & 0x0F) << 16) | ((uint32_t)ip[2] << 8) | ip[3];
    uint8_t nh = ip[6], hop = ip[7];
    const uint8_t *src = ip + 8, *dst = ip + 24;
    /* NHC-UDP elides the UDP length, so it only fits a UDP header whose
     * length is the IPv6 payload length */
    int udp = nh == DM_IPV6_NH_UDP && dm_read_bytes(&cur, end, DM_UDP_HEADER, &uh) == DM_OK &&
              dm_be16(uh + 4) == plen;
    int elide = udp && (flags & DM_IPHC_ELIDE_CHECKSUM);

    choice cs[3], cd[3];
    candidates(src, ll->src, ll->src_len, ctx, 1, cs);
    candidates(dst, ll->dst, ll->dst_len, ctx, 0, cd);
    int best = -1, bi = 0, bj = 0;
    for (int i = 0; i < 3; i++) {
        if (cs[i].cost < 0)
            continue;
        for (int j = 0; j < 3; j++) {
            if (cd[j].cost < 0)
                continue;
            int total = cs[i].cost + cd[j].cost + (cs[i].ctx > 0 || cd[j].ctx > 0);
            if (best < 0 || total < best) {
                best = total;
                bi = i;
                bj = j;
            }
        }
    }
    choice s = cs[bi], d = cd[bj];
    int cid = s.ctx > 0 || d.ctx > 0;

    int tf;
    uint8_t ecn = tc & 3, dscp = tc >> 2;
    if (tc == 0 && fl == 0)
        tf = 3;
    else if (fl == 0)
        tf = 2;
    else if (dscp == 0)
        tf = 1;
    else
        tf = 0;
    int hlim = hop == 1 ? 1 : hop == 64 ? 2 : hop == 255 ? 3 : 0;

    uint8_t *p = hdr;
    *p++ = (uint8_t)(0x60 | tf << 3 | udp << 2 | hlim);
    *p++ = (uint8_t)(cid << 7 | s.ac << 6 | s.mode << 4 | d.m << 3 | d.ac << 2 | d.mode);
    if (cid)
        *p++ = (uint8_t)((s.ctx > 0 ? s.ctx : 0) << 4 | (d.ctx > 0 ? d.ctx : 0));
    switch (tf) {
    case 0:
        *p++ = (uint8_t)(ecn << 6 | dscp);
        *p++ = (uint8_t)(fl >> 16);
        *p++ = (uint8_t)(fl >> 8);
        *p++ = (uint8_t)fl;
        break;
    case 1:
        *p++ = (uint8_t)(ecn << 6 | fl >> 16);
        *p++ = (uint8_t)(fl >> 8);
        *p++ = (uint8_t)fl;
        break;
    case 2:
        *p++ = (uint8_t)(ecn << 6 | dscp);
        break;
    default:
        break;
    }
    if (!udp)
        *p++ = nh;
    if (hlim == 0)
        *p++ = hop;
    p += put_address(p, src, s);
    p += put_address(p, dst, d);
    uint32_t bits = 0;
    if (udp) {
        uint16_t sp = dm_be16(uh), dp = dm_be16(uh + 2);
        uint8_t *nhc = p++;
        int ports;
        if ((sp & 0xFFF0) == 0xF0B0 && (dp & 0xFFF0) == 0xF0B0) {
            ports = 3;
            *p++ = (uint8_t)((sp & 15) << 4 | (dp & 15));
        } else if ((dp & 0xFF00) == 0xF000) {
            ports = 1;
            dm_put_be16(p, sp);
            p[2] = (uint8_t)dp;
            p += 3;
        } else if ((sp & 0xFF00) == 0xF000) {
            ports = 2;
            p[0] = (uint8_t)sp;
            dm_put_be16(p + 1, dp);
            p += 3;
        } else {
            ports = 0;
            dm_put_be16(p, sp);
            dm_put_be16(p + 2, dp);
            p += 4;
        }
        *nhc = (uint8_t)(DM_IPHC_NHC_UDP | elide << 2 | ports);
        if (!elide) {
            p[0] = uh[6];
            p[1] = uh[7];
            p += 2;
        }
        bits |= DM_IPHC_INFO_UDP | (elide ? DM_IPHC_INFO_ELIDED : 0);
    }
    if (s.ctx >= 0)
        bits |= DM_IPHC_INFO_SAC | (uint32_t)s.ctx << 8;
    if (d.ctx >= 0)
        bits |= DM_IPHC_INFO_DAC | (uint32_t)d.ctx << 12;
    *info = bits;
    *consumed = udp ? DM_IPV6_HEADER + DM_UDP_HEADER : DM_IPV6_HEADER;
    return (int)(p - hdr);
}

int dm_iphc_compress(const uint8_t *in, const uint32_t *in_end, size_t n, const dm_ll_pair *ll, size_t ll_count,
                     const dm_lowpan_context *ctx, int flags, uint8_t *out, size_t out_cap, dm_lowpan_item *items)
{
    int rc = dm_iphc_check_batch(in_end, n, ll_count);
    if (rc < 0)
        return rc;
    size_t pos = 0;
    int failed = 0;
    for (size_t i = 0; i < n; i++) {
        size_t start = dm_iphc_item_start(in_end, i), len = in_end[i] - start;
        dm_lowpan_item *it = &items[i];
        uint8_t hdr[DM_IPHC_MAX_HEADER];
        size_t consumed = 0, err = 0;
        uint32_t info = 0;
        it->offset = (uint32_t)pos;
        it->length = 0;
        it->header_length = 0;
        it->info = 0;
        it->err_offset = 0;
        int h = dm_iphc_compress_header(in + start, len, dm_iphc_item_ll(ll, ll_count, i), ctx, flags, hdr, &consumed,
                                        &info, &err);
        if (h < 0) {
            it->status = h;
            it->err_offset = (uint32_t)err;
            failed++;
            continue;
        }
        size_t payload = len - consumed;
        if (out_cap - pos < (size_t)h + payload)
            return DM_ERR_NO_SPACE;
        memcpy(out + pos, hdr, (size_t)h);
        memcpy(out + pos + h, in + start + consumed, payload);
        it->status = DM_OK;
        it->length = (uint32_t)((size_t)h + payload);
        it->header_length = (uint32_t)h;
        it->info = info;
        pos += (size_t)h + payload;
    }
    return failed;
}
