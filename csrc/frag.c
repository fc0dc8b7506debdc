/* RFC 4944 fragmentation (RFC 4944 section 5.3): one IPv6 datagram,
 * IPHC-compressed, split into FRAG1/FRAGN frames that fit a link MTU.
 *
 * Offsets count uncompressed bytes in units of 8, so every fragment but the
 * last covers a multiple of 8 uncompressed bytes; FRAG1 carries the whole
 * compressed header (it is never split).  Reassembly is the caller's (it
 * needs per-peer state, timers and memory limits: python/dlmsmesh/lowpan/).
 */
#include <string.h>

#include "iphc.h"

#define FRAG1_HEADER 4
#define FRAGN_HEADER 5
#define FRAG1_DISPATCH 0xC0
#define FRAGN_DISPATCH 0xE0

static int put_frame(uint8_t *out, size_t out_cap, size_t *pos, uint32_t *frame_end, size_t max_frames,
                     size_t *count, const uint8_t *prefix, size_t prefix_len, const uint8_t *head, size_t head_len,
                     const uint8_t *extra, size_t extra_len, const uint8_t *data, size_t data_len)
{
    size_t need = prefix_len + head_len + extra_len + data_len;
    if (*count >= max_frames || out_cap - *pos < need)
        return DM_ERR_NO_SPACE;
    uint8_t *p = out + *pos;
    const uint8_t *parts[4] = {prefix, head, extra, data};
    size_t lens[4] = {prefix_len, head_len, extra_len, data_len};
    for (int k = 0; k < 4; k++) {
        if (lens[k]) { /* memcpy from NULL is undefined even for 0 bytes */
            memcpy(p, parts[k], lens[k]);
            p += lens[k];
        }
    }
    *pos += need;
    frame_end[(*count)++] = (uint32_t)*pos;
    return DM_OK;
}

int dm_frag_split(const uint8_t *in, size_t in_len, const dm_ll_pair *ll, const dm_lowpan_context *ctx, int flags,
                  uint32_t mtu, uint16_t tag, const uint8_t *prefix, size_t prefix_len, uint8_t *out,
                  size_t out_cap, uint32_t *frame_end, size_t max_frames, dm_lowpan_item *res)
{
    uint8_t hdr[DM_IPHC_MAX_HEADER], fh[FRAGN_HEADER];
    size_t consumed = 0, err = 0, pos = 0, count = 0;
    uint32_t info = 0;
    res->status = DM_OK;
    res->offset = 0;
    res->length = 0;
    res->header_length = 0;
    res->err_offset = 0;
    res->info = 0;
    if (prefix == NULL)
        prefix_len = 0;
    int h = dm_iphc_compress_header(in, in_len, ll, ctx, flags & DM_IPHC_ELIDE_CHECKSUM, hdr, &consumed, &info,
                                    &err);
    if (h < 0) {
        res->status = h;
        res->err_offset = (uint32_t)err;
        return h;
    }
    res->header_length = (uint32_t)h;
    res->info = info;
    const uint8_t *payload = in + consumed;
    size_t payload_len = in_len - consumed;
    int rc;
    if (prefix_len + (size_t)h + payload_len <= mtu) {
        rc = put_frame(out, out_cap, &pos, frame_end, max_frames, &count, prefix, prefix_len, hdr, (size_t)h,
                       NULL, 0, payload, payload_len);
        res->length = (uint32_t)pos;
        return rc < 0 ? rc : (int)count;
    }
    if (in_len > DM_FRAG_MAX_DATAGRAM) {
        res->status = DM_ERR_FRAG_TOO_BIG;
        return DM_ERR_FRAG_TOO_BIG;
    }
    /* FRAG1 must hold the whole compressed header; a FRAGN at least 8 bytes */
    if (mtu < prefix_len + FRAG1_HEADER + (size_t)h || mtu < prefix_len + FRAGN_HEADER + 8) {
        res->status = DM_ERR_FRAG_MTU;
        return DM_ERR_FRAG_MTU;
    }
    /* FRAG1: consumed + first is a multiple of 8 (consumed is 40 or 48) */
    size_t room1 = mtu - prefix_len - FRAG1_HEADER - (size_t)h;
    size_t first = (room1 + consumed) / 8 * 8 - consumed;
    size_t step = (mtu - prefix_len - FRAGN_HEADER) / 8 * 8;
    fh[0] = (uint8_t)(FRAG1_DISPATCH | in_len >> 8);
    fh[1] = (uint8_t)in_len;
    dm_put_be16(fh + 2, tag);
    rc = put_frame(out, out_cap, &pos, frame_end, max_frames, &count, prefix, prefix_len, fh, FRAG1_HEADER, hdr,
                   (size_t)h, payload, first);
    if (rc < 0)
        return rc;
    fh[0] = (uint8_t)(FRAGN_DISPATCH | in_len >> 8);
    for (size_t off = consumed + first; off < in_len; off += step) {
        size_t chunk = in_len - off < step ? in_len - off : step;
        fh[4] = (uint8_t)(off / 8);
        rc = put_frame(out, out_cap, &pos, frame_end, max_frames, &count, prefix, prefix_len, fh, FRAGN_HEADER,
                       NULL, 0, in + off, chunk);
        if (rc < 0)
            return rc;
    }
    res->length = (uint32_t)pos;
    return (int)count;
}
