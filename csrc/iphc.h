/* Internal: what the IPHC compressor (iphc_compress.c) and decompressor
 * (iphc_decompress.c) share, and the one-datagram compressor the fragmenter
 * (frag.c) uses. */
#ifndef DM_IPHC_H
#define DM_IPHC_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "bytes.h"
#include "dlmsmesh.h"

/* The longest compressed IPv6 + NHC-UDP header: 2 base + CID + 4 TF + NH +
 * HLIM + 16 + 16 addresses, or 2 + 1 + 4 + 1 + 16 + 16 + 7 NHC-UDP. */
#define DM_IPHC_MAX_HEADER 48

/* Compress the headers of the datagram in[0, in_len) into hdr (at least
 * DM_IPHC_MAX_HEADER bytes).  Returns the compressed header length and sets
 * *consumed to the uncompressed header bytes it stands for (40, or 48 with
 * NHC-UDP); on a bad datagram returns a negative DM_ERR_* with *err_offset. */
DM_MUST_CHECK int dm_iphc_compress_header(const uint8_t *in, size_t in_len, const dm_ll_pair *ll, const dm_lowpan_context *ctx,
                                          int flags, uint8_t *hdr, size_t *consumed, uint32_t *info, size_t *err_offset);

#define DM_IPHC_NHC_UDP 0xF0      /* NHC-UDP dispatch 11110CPP */
#define DM_IPHC_NHC_UDP_MASK 0xF8

/* fe80::/64 and the 0000:00ff:fe00 of an IID made from a short address */
extern const uint8_t dm_iphc_link_local[8];
extern const uint8_t dm_iphc_short_iid[6];

/* The interface identifier a link-layer address stands for: EUI-64 with the
 * U/L bit inverted, or 0000:00ff:fe00:XXXX from a short address. */
static inline int dm_iphc_ll_iid(const uint8_t *ll, uint8_t len, uint8_t iid[8])
{
    if (len == 8) {
        memcpy(iid, ll, 8);
        iid[0] ^= 0x02;
        return 1;
    }
    if (len == 2) {
        memcpy(iid, dm_iphc_short_iid, 6);
        iid[6] = ll[0];
        iid[7] = ll[1];
        return 1;
    }
    return 0;
}

static inline int dm_iphc_ctx_usable(const dm_lowpan_context *ctx, unsigned id, int need)
{
    return ctx != NULL && (ctx[id].flags & need) == need;
}

/* The context prefix laid over (64 zero bits || iid): a prefix longer than
 * 64 bits overrides the IID bits it covers. */
static inline void dm_iphc_ctx_unicast(const dm_lowpan_context *c, const uint8_t iid[8], uint8_t addr[16])
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
static inline void dm_iphc_ctx_multicast(const dm_lowpan_context *c, const uint8_t inl[6], uint8_t addr[16])
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

static inline size_t dm_iphc_item_start(const uint32_t *in_end, size_t i) { return i ? in_end[i - 1] : 0; }

static inline const dm_ll_pair *dm_iphc_item_ll(const dm_ll_pair *ll, size_t ll_count, size_t i)
{
    if (ll_count == 0)
        return NULL;
    return ll_count == 1 ? ll : &ll[i];
}

/* DM_ERR_BAD_ARGUMENT unless in_end is non-decreasing and ll_count is 0, 1
 * or one link-layer pair per item. */
DM_MUST_CHECK int dm_iphc_check_batch(const uint32_t *in_end, size_t n, size_t ll_count);

#endif
