/* The receive side of the batch frame pipeline: N frames, every layer, one
 * call (csrc/dlmsmesh.h, dm_pipe_decode).
 *
 * Each layer is done by the function that owns it: dm_iphc_decompress,
 * dm_udp_checksum, dm_wrapper_decode, dm_secure_open_batch (once for the
 * whole batch, over the ciphered APDUs staged back to back), dm_apdu_decode.
 * This file only walks the frames between them, maps error offsets back to
 * the input frame, and keeps the invocation counters.
 *
 * Order of checks and error offsets follow python/dlmsmesh/_pure/pipeline.py
 * (the pure twin, which calls the pure layers frame by frame).
 *
 * Counters: an entry (peer, key set) the caller marked DM_RX_CALLER is left
 * to the caller; any other is checked strictly (a counter must be above the
 * last accepted one) in frame order, and only frames that verified change
 * it.  A frame that fails after decryption (replay) has its plaintext
 * cleansed, like one whose tag failed.
 */
#include <string.h>

#include <openssl/crypto.h>

#include "bytes.h"
#include "dlmsmesh.h"

#define KEY_SETS 3
#define UNCOMPRESSED_IPV6 0x41
#define BROADCAST_HEADER 0x50

/* Where the frame above 6LoWPAN lies, and how its offsets map to the input. */
typedef struct {
    const uint8_t *base; /* the IPv6 datagram (or the frame at higher layers) */
    size_t len;
    size_t header_length; /* compressed 6LoWPAN bytes in front of the payload */
    size_t uncompressed;  /* the uncompressed header bytes they stand for */
} frame_view;

/* The input offset of byte d of the base: compressed headers stand for the
 * first `uncompressed` bytes; after them the bytes are carried one for one. */
static uint32_t frame_offset(const frame_view *v, size_t d)
{
    if (d < v->uncompressed)
        return (uint32_t)d;
    return (uint32_t)(d - v->uncompressed + v->header_length);
}

static int fail(dm_pipe_item *it, int code, uint32_t layer, uint32_t offset)
{
    it->status = code;
    it->layer = layer;
    it->err_offset = offset;
    return code;
}

/* ------------------------------------------------------------------------
 * 6LoWPAN: mesh, BC0, then IPHC (dm_iphc_decompress) or uncompressed IPv6
 * ------------------------------------------------------------------------ */

static int is_mesh(uint8_t b) { return (b & 0xC0) == 0x80; }
static int is_fragment(uint8_t b) { return (b & 0xF8) == 0xC0 || (b & 0xF8) == 0xE0; }

static int lowpan_stage(const dm_pipe_config *cfg, size_t i, const uint8_t *frame, size_t len,
                        dm_pipe_buffers *buf, size_t *dpos, dm_pipe_item *it, frame_view *v)
{
    dm_ll_pair pair;
    int have_pair = 0;
    if (cfg->ll_count != 0) {
        pair = cfg->ll[cfg->ll_count == 1 ? 0 : i];
        have_pair = 1;
    }
    const uint8_t *cur = frame, *const end = frame + len;
    uint8_t b;
    if (dm_peek_u8(cur, end, &b) != DM_OK)
        return fail(it, DM_ERR_TRUNCATED, DM_PIPE_LOWPAN, 0);
    if (is_mesh(b)) {
        /* RFC 4944 5.2: its originator and final destination stand in for
         * the link-layer addresses */
        const size_t olen = (b & 0x20) ? 2 : 8, flen = (b & 0x10) ? 2 : 8;
        const uint8_t *originator, *final;
        cur++;
        if ((b & 0x0F) == 0x0F && dm_skip(&cur, end, 1) != DM_OK) /* the hops-left extension */
            return fail(it, DM_ERR_TRUNCATED, DM_PIPE_LOWPAN, (uint32_t)(cur - frame));
        if (dm_read_bytes(&cur, end, olen, &originator) != DM_OK ||
            dm_read_bytes(&cur, end, flen, &final) != DM_OK)
            return fail(it, DM_ERR_TRUNCATED, DM_PIPE_LOWPAN, (uint32_t)(cur - frame));
        memset(&pair, 0, sizeof pair);
        memcpy(pair.src, originator, olen);
        memcpy(pair.dst, final, flen);
        pair.src_len = (uint8_t)olen;
        pair.dst_len = (uint8_t)flen;
        have_pair = 1;
        it->flags |= DM_PIPE_F_MESH;
    }
    if (dm_peek_u8(cur, end, &b) == DM_OK && b == BROADCAST_HEADER) {
        if (dm_skip(&cur, end, 2) != DM_OK)
            return fail(it, DM_ERR_TRUNCATED, DM_PIPE_LOWPAN, (uint32_t)(cur - frame));
        it->flags |= DM_PIPE_F_BC0;
    }
    const size_t p = (size_t)(cur - frame);
    if (dm_peek_u8(cur, end, &b) != DM_OK)
        return fail(it, DM_ERR_TRUNCATED, DM_PIPE_LOWPAN, (uint32_t)p);
    it->lowpan = b;
    if (is_fragment(b))
        return fail(it, DM_ERR_PIPE_FRAGMENT, DM_PIPE_LOWPAN, (uint32_t)p);
    if (b == UNCOMPRESSED_IPV6) {
        v->base = frame + p + 1;
        v->len = len - p - 1;
        v->header_length = p + 1;
        v->uncompressed = 0;
        it->base += (uint32_t)(p + 1);
        it->header_length = (uint32_t)(p + 1);
        return DM_OK;
    }
    if ((b & 0xE0) != 0x60)
        return fail(it, DM_ERR_LOWPAN_DISPATCH, DM_PIPE_LOWPAN, (uint32_t)p);
    const uint32_t iphc_end = (uint32_t)(len - p);
    dm_lowpan_item li;
    int rc = dm_iphc_decompress(frame + p, &iphc_end, 1, have_pair ? &pair : NULL, have_pair ? 1 : 0, cfg->contexts, 0,
                                buf->datagrams + *dpos, buf->datagrams_cap - *dpos, &li);
    if (rc < 0)
        return rc; /* only DM_ERR_NO_SPACE: the caller sized the buffer wrongly */
    if (li.status < 0)
        return fail(it, li.status, DM_PIPE_LOWPAN, (uint32_t)p + li.err_offset);
    it->lowpan |= li.info << 8;
    it->flags |= DM_PIPE_F_DATAGRAM;
    it->base = (uint32_t)*dpos;
    it->header_length = (uint32_t)p + li.header_length;
    it->uncompressed = (li.info & DM_IPHC_INFO_UDP) ? DM_IPV6_HEADER + DM_UDP_HEADER : DM_IPV6_HEADER;
    v->base = buf->datagrams + *dpos;
    v->len = li.length;
    v->header_length = it->header_length;
    v->uncompressed = it->uncompressed;
    *dpos += li.length;
    return DM_OK;
}

/* ------------------------------------------------------------------------
 * IPv6, UDP, wrapper
 * ------------------------------------------------------------------------ */

static int ipv6_stage(dm_pipe_item *it, const frame_view *v)
{
    const uint8_t *cur = v->base, *const end = v->base + v->len, *ip;
    if (dm_read_bytes(&cur, end, DM_IPV6_HEADER, &ip) != DM_OK)
        return fail(it, DM_ERR_TRUNCATED, DM_PIPE_IPV6, frame_offset(v, 0));
    if (ip[0] >> 4 != 6)
        return fail(it, DM_ERR_IPV6_VERSION, DM_PIPE_IPV6, frame_offset(v, 0));
    if (dm_be16(ip + 4) != dm_left(cur, end))
        return fail(it, DM_ERR_IPV6_LENGTH, DM_PIPE_IPV6, frame_offset(v, 4));
    if (ip[6] != DM_IPV6_NH_UDP)
        return fail(it, DM_ERR_PIPE_NOT_UDP, DM_PIPE_IPV6, frame_offset(v, 6));
    it->udp = DM_IPV6_HEADER;
    return DM_OK;
}

static int udp_stage(const dm_pipe_config *cfg, dm_pipe_item *it, const frame_view *v, int addresses)
{
    const size_t u = it->udp;
    const uint8_t *seg = v->base + u, *cur = seg, *const end = v->base + v->len, *uh;
    const size_t n = dm_left(seg, end);
    if (dm_read_bytes(&cur, end, DM_UDP_HEADER, &uh) != DM_OK)
        return fail(it, DM_ERR_TRUNCATED, DM_PIPE_UDP, frame_offset(v, u));
    if (dm_be16(uh + 4) != n)
        return fail(it, DM_ERR_UDP_LENGTH, DM_PIPE_UDP, frame_offset(v, u + 4));
    if (addresses) {
        const uint32_t carried = dm_be16(uh + 6);
        const int32_t sum = dm_udp_checksum(v->base + 8, v->base + 24, seg, n);
        it->flags |= DM_PIPE_F_CHECKSUM_CHECKED;
        if (carried != 0 && sum >= 0 && carried == (uint32_t)sum)
            it->flags |= DM_PIPE_F_CHECKSUM_OK;
        else if (cfg->flags & DM_PIPE_CHECKSUM)
            return fail(it, DM_ERR_PIPE_CHECKSUM, DM_PIPE_UDP, frame_offset(v, u + 6));
    }
    it->wrapper = (uint32_t)(u + DM_UDP_HEADER);
    return DM_OK;
}

static int wrapper_stage(dm_pipe_item *it, const frame_view *v)
{
    const size_t w = it->wrapper;
    dm_wrapper hdr;
    size_t err = 0;
    int rc = dm_wrapper_decode(v->base + w, v->len - w, &hdr, &err);
    if (rc < 0)
        return fail(it, rc, DM_PIPE_WRAPPER, frame_offset(v, w + err));
    it->apdu = (uint32_t)(w + DM_WRAPPER_HEADER);
    return DM_OK;
}

/* Whether an APDU's first octet makes it a job for the security layer: the
 * security layer's own parser answers (it knows the ciphered tags), so the
 * list is kept in one place. */
static int is_ciphered(const uint8_t *apdu, size_t len)
{
    dm_secure_frame f;
    size_t err;
    return len != 0 && dm_secure_parse(apdu, 1, &f, &err) != DM_ERR_SEC_TAG;
}

/* Walk one frame from cfg->layer up to its APDU; stage a ciphered APDU. */
static int walk(const dm_pipe_config *cfg, size_t i, const uint8_t *frame, size_t len, dm_pipe_buffers *buf,
                size_t *dpos, size_t *spos, dm_pipe_item *it, frame_view *v)
{
    int rc;
    v->base = frame;
    v->len = len;
    v->header_length = 0;
    v->uncompressed = 0;
    it->base_len = (uint32_t)len;
    switch (cfg->layer) {
    case DM_PIPE_LOWPAN:
        if ((rc = lowpan_stage(cfg, i, frame, len, buf, dpos, it, v)) != DM_OK)
            return rc;
        it->base_len = (uint32_t)v->len;
        /* fall through */
    case DM_PIPE_IPV6:
        if ((rc = ipv6_stage(it, v)) != DM_OK)
            return rc;
        if ((rc = udp_stage(cfg, it, v, 1)) != DM_OK)
            return rc;
        if ((rc = wrapper_stage(it, v)) != DM_OK)
            return rc;
        break;
    case DM_PIPE_UDP:
        it->udp = 0;
        if ((rc = udp_stage(cfg, it, v, 0)) != DM_OK)
            return rc;
        if ((rc = wrapper_stage(it, v)) != DM_OK)
            return rc;
        break;
    case DM_PIPE_WRAPPER:
        it->wrapper = 0;
        if ((rc = wrapper_stage(it, v)) != DM_OK)
            return rc;
        break;
    default:
        it->apdu = 0;
        break;
    }
    const uint8_t *apdu = v->base + it->apdu;
    const size_t alen = v->len - it->apdu;
    it->apdu_len = (uint32_t)alen;
    if (is_ciphered(apdu, alen)) {
        if (!(cfg->flags & DM_PIPE_KEYS))
            return fail(it, DM_ERR_PIPE_NO_KEYS, DM_PIPE_SECURITY, frame_offset(v, it->apdu));
        memcpy(buf->stage + *spos, apdu, alen);
        it->flags |= DM_PIPE_F_CIPHERED;
        it->plain = (uint32_t)*spos;
        *spos += alen;
        return DM_OK;
    }
    if ((cfg->flags & DM_PIPE_KEYS) && !(cfg->flags & DM_PIPE_ALLOW_PLAIN))
        return fail(it, DM_ERR_PIPE_PLAIN, DM_PIPE_SECURITY, frame_offset(v, it->apdu));
    it->plain = it->apdu;
    it->plain_len = (uint32_t)alen;
    return DM_OK;
}

/* ------------------------------------------------------------------------
 * counters
 * ------------------------------------------------------------------------ */

/* The strict invocation-counter check for one verified frame: a counter not
 * above the last one accepted for its peer and key is a replay. */
static int check_counter(const dm_pipe_config *cfg, dm_pipe_buffers *buf, dm_pipe_item *it)
{
    const size_t e = (size_t)it->peer * KEY_SETS + it->key_set;
    if (it->peer >= cfg->npeers || it->key_set >= KEY_SETS)
        return DM_ERR_BAD_ARGUMENT;
    dm_rx_counter *c = &cfg->counters[e];
    if (c->flags & DM_RX_CALLER) {
        it->flags |= DM_PIPE_F_DEFER_REPLAY;
        return DM_OK;
    }
    if ((c->flags & DM_RX_KNOWN) && it->ic <= c->last) {
        it->replay_last = c->last;
        return DM_ERR_PIPE_REPLAY;
    }
    if (!(c->flags & DM_RX_TOUCHED)) {
        c->prev_last = c->last;
        c->prev_flags = c->flags;
        c->flags |= DM_RX_TOUCHED;
        buf->touched[buf->touched_count++] = (uint32_t)e;
    }
    c->last = it->ic;
    c->flags |= DM_RX_KNOWN;
    return DM_OK;
}

/* ------------------------------------------------------------------------
 * the APDU
 * ------------------------------------------------------------------------ */

/* Where plaintext byte 0 sits in the ciphered APDU (content + SC + IC). */
static size_t plain_at(const uint8_t *apdu, size_t len)
{
    dm_secure_frame f;
    size_t err;
    if (dm_secure_parse(apdu, len, &f, &err) != DM_OK)
        return 0;
    return (size_t)f.content + 5;
}

static void apdu_stage(dm_pipe_buffers *buf, dm_pipe_item *it, const frame_view *v, const uint8_t *plain,
                       const uint8_t *ciphered, size_t *ppos)
{
    dm_apdu_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    if (buf->program != NULL) {
        ctx.out = buf->program + *ppos;
        ctx.out_cap = buf->program_cap - *ppos;
    }
    int rc = dm_apdu_decode((const char *)plain, it->plain_len, &ctx);
    if (rc > 0 && !(rc & DM_APDU_SCALAR)) {
        it->program = (uint32_t)*ppos;
        it->program_len = (uint32_t)rc;
        *ppos += (size_t)rc;
    } else if (rc > 0) {
        it->scalar = (uint32_t)rc;
        it->value_lo = (uint32_t)((uint64_t)ctx.value & 0xFFFFFFFFu);
        it->value_hi = (uint32_t)((uint64_t)ctx.value >> 32);
    } else if (rc == DM_ERR_APDU_NOT_HOT || rc == DM_ERR_NO_SPACE) {
        it->flags |= DM_PIPE_F_DEFER_APDU;
    } else {
        /* GCM is a stream cipher: plaintext byte j is ciphertext byte j */
        size_t at = it->apdu + ctx.res.err_offset;
        if (it->flags & DM_PIPE_F_CIPHERED)
            at += plain_at(ciphered, it->apdu_len);
        if (ctx.res.in_data)
            it->flags |= DM_PIPE_F_IN_DATA;
        fail(it, rc, DM_PIPE_APDU, frame_offset(v, at));
    }
}

/* ------------------------------------------------------------------------
 * the batch
 * ------------------------------------------------------------------------ */

static int check_arguments(const dm_pipe_config *cfg, const uint8_t *in, const uint32_t *offsets, size_t n,
                           const dm_pipe_buffers *buf)
{
    if (cfg == NULL || buf == NULL || offsets == NULL || (n != 0 && (in == NULL || buf->items == NULL)))
        return DM_ERR_BAD_ARGUMENT;
    if (cfg->layer < DM_PIPE_LOWPAN || cfg->layer > DM_PIPE_APDU || cfg->layer == DM_PIPE_SECURITY)
        return DM_ERR_BAD_ARGUMENT;
    if ((cfg->peers == NULL && cfg->npeers != 0) || (cfg->ll == NULL && cfg->ll_count != 0) ||
        (cfg->ll_count > 1 && cfg->ll_count != n) || cfg->npeers > 0x7FFFFFFFu / KEY_SETS)
        return DM_ERR_BAD_ARGUMENT;
    if (cfg->counters != NULL && buf->touched == NULL && cfg->npeers != 0)
        return DM_ERR_BAD_ARGUMENT;
    for (size_t i = 0; i < n; i++)
        if (offsets[i] > offsets[i + 1])
            return DM_ERR_BAD_ARGUMENT;
    const size_t total = n ? offsets[n] - offsets[0] : 0;
    if (n != 0 && (buf->stage == NULL || buf->plain == NULL || buf->stage_offsets == NULL || buf->secure == NULL ||
                   buf->stage_cap < total))
        return DM_ERR_NO_SPACE;
    if (cfg->layer == DM_PIPE_LOWPAN && n != 0 &&
        (buf->datagrams == NULL || buf->datagrams_cap < total + (size_t)48 * n))
        return DM_ERR_NO_SPACE;
    return DM_OK;
}

static void clear_item(dm_pipe_item *it, uint32_t base)
{
    memset(it, 0, sizeof *it);
    it->layer = DM_PIPE_APDU;
    it->base = base;
    it->udp = DM_PIPE_NONE;
    it->wrapper = DM_PIPE_NONE;
    it->apdu = DM_PIPE_NONE;
    it->plain = DM_PIPE_NONE;
    it->peer = DM_PIPE_NONE;
    it->program = DM_PIPE_NONE;
}

/* The views of the frames are recomputed after the security batch from the
 * items, so nothing per frame needs keeping in between. */
static void view_of(const dm_pipe_buffers *buf, const uint8_t *in, const dm_pipe_item *it, frame_view *v)
{
    v->base = ((it->flags & DM_PIPE_F_DATAGRAM) ? buf->datagrams : in) + it->base;
    v->len = it->base_len;
    v->header_length = it->header_length;
    v->uncompressed = it->uncompressed;
}

int64_t dm_pipe_decode(const dm_pipe_config *cfg, const uint8_t *in, const uint32_t *offsets, size_t n,
                       dm_pipe_buffers *buf)
{
    int rc = check_arguments(cfg, in, offsets, n, buf);
    if (rc < 0)
        return rc;
    buf->touched_count = 0;
    buf->deferred = 0;
    buf->program_len = 0;
    size_t dpos = 0, spos = 0, ppos = 0, ciphered = 0;

    /* 1. every frame up to its APDU; ciphered APDUs staged back to back */
    for (size_t i = 0; i < n; i++) {
        dm_pipe_item *it = &buf->items[i];
        frame_view v;
        clear_item(it, offsets[i]);
        buf->stage_offsets[i] = (uint32_t)spos;
        rc = walk(cfg, i, in + offsets[i], offsets[i + 1] - offsets[i], buf, &dpos, &spos, it, &v);
        if (rc == DM_ERR_NO_SPACE)
            return rc;
        if (it->flags & DM_PIPE_F_CIPHERED)
            ciphered++;
    }
    buf->stage_offsets[n] = (uint32_t)spos;

    /* 2. the ciphered APDUs: one security batch (frames without one are
     * empty ranges there, and their items are not read) */
    if (ciphered != 0) {
        int64_t opened = dm_secure_open_batch(cfg->peers, cfg->npeers, cfg->default_peer, buf->stage,
                                              buf->stage_offsets, n, buf->plain, buf->stage_cap, buf->secure);
        if (opened < 0)
            return opened;
    }

    /* 3. in frame order: security outcome, counters, the APDU */
    int64_t ok = 0;
    for (size_t i = 0; i < n; i++) {
        dm_pipe_item *it = &buf->items[i];
        frame_view v;
        if (it->status != DM_OK)
            continue;
        view_of(buf, in, it, &v);
        const uint8_t *plain;
        const uint8_t *ciphered_apdu = NULL;
        if (it->flags & DM_PIPE_F_CIPHERED) {
            const dm_secure_item *s = &buf->secure[i];
            ciphered_apdu = buf->stage + it->plain;
            it->peer = s->peer;
            it->tag = s->tag;
            it->sc = s->sc;
            it->ic = s->ic;
            it->key_set = s->key_set;
            if (s->status == DM_SEC_DEFERRED) {
                it->flags |= DM_PIPE_F_DEFER_SECURITY;
                buf->deferred++;
                ok++;
                continue;
            }
            if (s->status != DM_OK) {
                fail(it, s->status, DM_PIPE_SECURITY, frame_offset(&v, it->apdu + s->err_offset));
                continue;
            }
            it->plain_len = s->plain_len;
            plain = buf->plain + it->plain;
            if (cfg->counters != NULL) {
                rc = check_counter(cfg, buf, it);
                if (rc == DM_ERR_BAD_ARGUMENT)
                    return rc;
                if (rc != DM_OK) {
                    OPENSSL_cleanse(buf->plain + it->plain, it->plain_len);
                    it->plain_len = 0;
                    fail(it, rc, DM_PIPE_SECURITY, frame_offset(&v, it->apdu));
                    continue;
                }
            }
        } else {
            plain = v.base + it->plain;
        }
        apdu_stage(buf, it, &v, plain, ciphered_apdu, &ppos);
        /* a frame whose counter the caller decides is deferred even when its
         * APDU failed: the single-frame path checks the counter first */
        if (it->flags & (DM_PIPE_F_DEFER_REPLAY | DM_PIPE_F_DEFER_APDU))
            buf->deferred++;
        if (it->status == DM_OK)
            ok++;
    }
    buf->program_len = ppos;
    return ok;
}
