/* RFC 6282 IPHC + NHC-UDP header compression and decompression
 * (spec/sixlowpan.md sections 2-4).
 *
 * Both directions work on wire bytes: an uncompressed IPv6 datagram (header,
 * UDP header, payload) on one side, an IPHC frame (compressed headers,
 * payload) on the other, so one C call handles a whole batch without any
 * Python object crossing.  The order of checks, the error offsets and the
 * choice among equally short encodings follow python/dlmsmesh/_pure/iphc.py
 * exactly: both backends give the same bytes and the same errors.
 */
#include <string.h>

#include "checksum.h"
#include "iphc.h"

#define IPV6_HEADER 40
#define UDP_HEADER 8
#define NH_UDP 17
#define NHC_UDP 0xF0      /* 11110CPP */
#define NHC_UDP_MASK 0xF8

#define FAIL(code, off)          \
    do {                         \
        *err_offset = (off);     \
        return (code);           \
    } while (0)

static const uint8_t LINK_LOCAL[8] = {0xfe, 0x80, 0, 0, 0, 0, 0, 0};
static const uint8_t SHORT_IID[6] = {0, 0, 0, 0xff, 0xfe, 0};
static const uint8_t HOP_LIMITS[4] = {0, 1, 64, 255};
static const uint8_t TF_BYTES[4] = {4, 3, 1, 0};
static const uint8_t PORT_BYTES[4] = {4, 3, 3, 1};

static uint16_t be16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }

static void put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static int all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

/* The interface identifier a link-layer address stands for: EUI-64 with the
 * U/L bit inverted, or 0000:00ff:fe00:XXXX from a short address. */
static int ll_iid(const uint8_t *ll, uint8_t len, uint8_t iid[8])
{
    if (len == 8) {
        memcpy(iid, ll, 8);
        iid[0] ^= 0x02;
        return 1;
    }
    if (len == 2) {
        memcpy(iid, SHORT_IID, 6);
        iid[6] = ll[0];
        iid[7] = ll[1];
        return 1;
    }
    return 0;
}

static int ctx_usable(const dm_lowpan_context *ctx, unsigned id, int need)
{
    return ctx != NULL && (ctx[id].flags & need) == need;
}

/* The context prefix laid over (64 zero bits || iid): a prefix longer than
 * 64 bits overrides the IID bits it covers. */
static void ctx_unicast(const dm_lowpan_context *c, const uint8_t iid[8], uint8_t addr[16])
{
    unsigned plen = c->length > 128 ? 128 : c->length;
    memset(addr, 0, 8);
    memcpy(addr + 8, iid, 8);
    memcpy(addr, c->prefix, plen / 8);
    if (plen % 8) {
        uint8_t mask = (uint8_t)(0xFF << (8 - plen % 8));
        addr[plen / 8] = (uint8_t)((c->prefix[plen / 8] & mask) | (addr[plen / 8] & ~mask));
    }
}

/* RFC 3306 ffXX:XXLL:PPPP:PPPP:PPPP:PPPP:XXXX:XXXX: flags/scope and RIID,
 * then L and P from the context, then the 32-bit group id. */
static void ctx_multicast(const dm_lowpan_context *c, const uint8_t inl[6], uint8_t addr[16])
{
    unsigned plen = c->length > 64 ? 64 : c->length;
    addr[0] = 0xff;
    addr[1] = inl[0];
    addr[2] = inl[1];
    addr[3] = c->length;
    memset(addr + 4, 0, 8);
    memcpy(addr + 4, c->prefix, plen / 8);
    if (plen % 8)
        addr[4 + plen / 8] = (uint8_t)(c->prefix[plen / 8] & (0xFF << (8 - plen % 8)));
    memcpy(addr + 12, inl + 2, 4);
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
    if (memcmp(a, LINK_LOCAL, 8) != 0)
        return mk(16, -1, 0, 0, 0);
    if (ll_iid(ll, ll_len, iid) && memcmp(a + 8, iid, 8) == 0)
        return mk(0, -1, 0, 3, 0);
    if (memcmp(a + 8, SHORT_IID, 6) == 0)
        return mk(2, -1, 0, 2, 0);
    return mk(8, -1, 0, 1, 0);
}

/* The cheapest encoding of a unicast address from context id, or cost < 0. */
static choice unicast_context(const uint8_t *a, const uint8_t *ll, uint8_t ll_len, const dm_lowpan_context *c,
                              int id)
{
    uint8_t iid[8], rebuilt[16];
    if (ll_iid(ll, ll_len, iid)) {
        ctx_unicast(c, iid, rebuilt);
        if (memcmp(rebuilt, a, 16) == 0)
            return mk(0, id, 1, 3, 0);
    }
    memcpy(iid, SHORT_IID, 6);
    iid[6] = a[14];
    iid[7] = a[15];
    ctx_unicast(c, iid, rebuilt);
    if (memcmp(rebuilt, a, 16) == 0)
        return mk(2, id, 1, 2, 0);
    ctx_unicast(c, a + 8, rebuilt);
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
    ctx_multicast(c, inl, rebuilt);
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
        if (!ctx_usable(ctx, (unsigned)id, DM_CONTEXT_DECOMPRESS | DM_CONTEXT_COMPRESS))
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
    if (in_len < IPV6_HEADER)
        FAIL(DM_ERR_TRUNCATED, 0);
    if (in[0] >> 4 != 6)
        FAIL(DM_ERR_IPV6_VERSION, 0);
    uint32_t plen = be16(in + 4);
    if (!(flags & DM_IPHC_HEADERS_ONLY) && plen != in_len - IPV6_HEADER)
        FAIL(DM_ERR_IPV6_LENGTH, 4);
    uint8_t tc = (uint8_t)((in[0] << 4) | (in[1] >> 4));
    uint32_t fl = ((uint32_t)(in[1] & 0x0F) << 16) | ((uint32_t)in[2] << 8) | in[3];
    uint8_t nh = in[6], hop = in[7];
    const uint8_t *src = in + 8, *dst = in + 24;
    /* NHC-UDP elides the UDP length, so it only fits a UDP header whose
     * length is the IPv6 payload length */
    int udp = nh == NH_UDP && in_len >= IPV6_HEADER + UDP_HEADER && be16(in + 44) == plen;
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
        uint16_t sp = be16(in + 40), dp = be16(in + 42);
        uint8_t *nhc = p++;
        int ports;
        if ((sp & 0xFFF0) == 0xF0B0 && (dp & 0xFFF0) == 0xF0B0) {
            ports = 3;
            *p++ = (uint8_t)((sp & 15) << 4 | (dp & 15));
        } else if ((dp & 0xFF00) == 0xF000) {
            ports = 1;
            put16(p, sp);
            p[2] = (uint8_t)dp;
            p += 3;
        } else if ((sp & 0xFF00) == 0xF000) {
            ports = 2;
            p[0] = (uint8_t)sp;
            put16(p + 1, dp);
            p += 3;
        } else {
            ports = 0;
            put16(p, sp);
            put16(p + 2, dp);
            p += 4;
        }
        *nhc = (uint8_t)(NHC_UDP | elide << 2 | ports);
        if (!elide) {
            p[0] = in[46];
            p[1] = in[47];
            p += 2;
        }
        bits |= DM_IPHC_INFO_UDP | (elide ? DM_IPHC_INFO_ELIDED : 0);
    }
    if (s.ctx >= 0)
        bits |= DM_IPHC_INFO_SAC | (uint32_t)s.ctx << 8;
    if (d.ctx >= 0)
        bits |= DM_IPHC_INFO_DAC | (uint32_t)d.ctx << 12;
    *info = bits;
    *consumed = udp ? IPV6_HEADER + UDP_HEADER : IPV6_HEADER;
    return (int)(p - hdr);
}

static size_t item_start(const uint32_t *in_end, size_t i) { return i ? in_end[i - 1] : 0; }

static const dm_ll_pair *item_ll(const dm_ll_pair *ll, size_t ll_count, size_t i)
{
    if (ll_count == 0)
        return NULL;
    return ll_count == 1 ? ll : &ll[i];
}

static int check_batch(const uint32_t *in_end, size_t n, size_t ll_count)
{
    if (ll_count > 1 && ll_count != n)
        return DM_ERR_BAD_ARGUMENT;
    for (size_t i = 0; i < n; i++)
        if (in_end[i] < item_start(in_end, i))
            return DM_ERR_BAD_ARGUMENT;
    return DM_OK;
}

int dm_iphc_compress(const uint8_t *in, const uint32_t *in_end, size_t n, const dm_ll_pair *ll, size_t ll_count,
                     const dm_lowpan_context *ctx, int flags, uint8_t *out, size_t out_cap, dm_lowpan_item *items)
{
    int rc = check_batch(in_end, n, ll_count);
    if (rc < 0)
        return rc;
    size_t pos = 0;
    int failed = 0;
    for (size_t i = 0; i < n; i++) {
        size_t start = item_start(in_end, i), len = in_end[i] - start;
        dm_lowpan_item *it = &items[i];
        uint8_t hdr[DM_IPHC_MAX_HEADER];
        size_t consumed = 0, err = 0;
        uint32_t info = 0;
        it->offset = (uint32_t)pos;
        it->length = 0;
        it->header_length = 0;
        it->info = 0;
        it->err_offset = 0;
        int h = dm_iphc_compress_header(in + start, len, item_ll(ll, ll_count, i), ctx, flags, hdr, &consumed,
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
        memcpy(iid, SHORT_IID, 6);
        iid[6] = in[*p];
        iid[7] = in[*p + 1];
        *p += 2;
    } else
        ll_iid(ll, ll_len, iid);
    if (ac)
        ctx_unicast(c, iid, a);
    else {
        memcpy(a, LINK_LOCAL, 8);
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
    uint8_t nh = NH_UDP, hop = HOP_LIMITS[hlim];
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
        if (!ctx_usable(ctx, sci, DM_CONTEXT_DECOMPRESS))
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
            if (!ctx_usable(ctx, dci, DM_CONTEXT_DECOMPRESS))
                FAIL(DM_ERR_LOWPAN_CONTEXT, ctx_byte);
            info |= DM_IPHC_INFO_DAC | dci << 12;
            if (len - p < 6)
                FAIL(DM_ERR_TRUNCATED, p);
            ctx_multicast(&ctx[dci], in + p, dst);
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
            if (!ctx_usable(ctx, dci, DM_CONTEXT_DECOMPRESS))
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
        if ((b & NHC_UDP_MASK) != NHC_UDP)
            FAIL(DM_ERR_LOWPAN_NHC, p);
        p++;
        int ports = b & 3;
        elided = (b >> 2) & 1;
        if (len - p < PORT_BYTES[ports])
            FAIL(DM_ERR_TRUNCATED, p);
        const uint8_t *q = in + p;
        switch (ports) {
        case 0:
            sport = be16(q);
            dport = be16(q + 2);
            break;
        case 1:
            sport = be16(q);
            dport = (uint16_t)(0xF000 | q[2]);
            break;
        case 2:
            sport = (uint16_t)(0xF000 | q[0]);
            dport = be16(q + 1);
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
            check = be16(in + p);
            p += 2;
        }
        info |= DM_IPHC_INFO_UDP | (elided ? DM_IPHC_INFO_ELIDED : 0);
    }

    /* lengths: from the frame, or from the FRAG1 datagram_size */
    size_t head = nhc ? IPV6_HEADER + UDP_HEADER : IPV6_HEADER;
    size_t payload = len - p;
    size_t ip_payload;
    if (dsize == 0) {
        ip_payload = payload + head - IPV6_HEADER;
        if (ip_payload > 0xFFFF)
            FAIL(DM_ERR_LOWPAN_SIZE, p);
    } else {
        if (dsize < head || payload > dsize - head || dsize - IPV6_HEADER > 0xFFFF)
            FAIL(DM_ERR_LOWPAN_SIZE, p);
        ip_payload = dsize - IPV6_HEADER;
    }
    if (cap < head + payload)
        return DM_ERR_NO_SPACE;

    out[0] = (uint8_t)(0x60 | tc >> 4);
    out[1] = (uint8_t)(tc << 4 | fl >> 16);
    out[2] = (uint8_t)(fl >> 8);
    out[3] = (uint8_t)fl;
    put16(out + 4, (uint32_t)ip_payload);
    out[6] = nh;
    out[7] = hop;
    memcpy(out + 8, src, 16);
    memcpy(out + 24, dst, 16);
    memcpy(out + head, in + p, payload);
    if (nhc) {
        uint8_t *u = out + IPV6_HEADER;
        put16(u, sport);
        put16(u + 2, dport);
        put16(u + 4, (uint32_t)ip_payload);
        put16(u + 6, check);
        if (elided && dsize == 0) {
            int32_t c = dm_udp_checksum(src, dst, u, ip_payload);
            put16(u + 6, (uint32_t)c);
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
    int rc = check_batch(in_end, n, ll_count);
    if (rc < 0)
        return rc;
    size_t pos = 0;
    int failed = 0;
    for (size_t i = 0; i < n; i++) {
        size_t start = item_start(in_end, i);
        dm_lowpan_item *it = &items[i];
        size_t err = 0;
        it->offset = (uint32_t)pos;
        it->length = 0;
        it->header_length = 0;
        it->info = 0;
        it->err_offset = 0;
        int st = decompress_one(in + start, in_end[i] - start, item_ll(ll, ll_count, i), ctx, datagram_size,
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
