/* libFuzzer harness: the send side of the batch pipeline from arbitrary
 * requests (csrc/pipeline_encode.c, dm_pipe_encode).  The pipeline harness
 * only re-encodes what it decoded, as raw APDUs; this one drives every
 * request kind and every field, in range and out of it.
 *
 * Input: byte 0 the layer (0 lowpan, 1 ipv6, 2 udp, 3 wrapper, others: not a
 * layer), byte 1 options (bits 0-1: link-layer pairs, bit 2: elide the UDP
 * checksum, bit 3: tight buffers, bit 4: a NULL values buffer when it is
 * empty), byte 2 the request count (% 9), byte 3 the two senders' framings,
 * byte 4 their security control, then REQ_BYTES per request, then the
 * values buffer.
 * Checks, against a reference written here from IEC 62056-5-3 (the APDU),
 * IEC 62056-4-7 (the wrapper), RFC 8200 / RFC 768 and RFC 6282: a request
 * that is out of range is DM_ERR_BAD_ARGUMENT at its index, and the first one
 * decides; otherwise every
 * frame is, byte for byte, the reference APDU (or, sealed, a frame that opens
 * with the sender's key and title to it, with its SC and IC), behind a wrapper,
 * UDP header with a correct checksum and IPv6 header of the reference, and at
 * the 6LoWPAN layer decompresses to that datagram; tight buffers give
 * DM_ERR_NO_SPACE or the same frames.
 */
#include "fuzz_keys.h"
#include "fuzz_lowpan.h"

#define MAXR 8
#define REQ_BYTES 31
#define NPEERS 2

static const uint32_t LAYERS[4] = {DM_PIPE_LOWPAN, DM_PIPE_IPV6, DM_PIPE_UDP, DM_PIPE_WRAPPER};
static const uint8_t SOURCE[16] = {0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10};
static const uint8_t DESTINATIONS[16 * NPEERS] = {
    0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0, 0, 0x02, 0x12, 0x4b, 0x00, 0x00, 0x01, 0x02, 0x03,
    0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x14, 0x34, 0x00, 0xff, 0xfe, 0x00, 0x56, 0x78,
};

void fuzz_pipe_encode_teardown(void);
void fuzz_pipe_encode_teardown(void) { fz_keys_teardown(); }

static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

/* RFC 1071 over the IPv6 pseudo-header and the UDP segment (its checksum field as it is) */
static uint32_t ones_sum(const uint8_t *src, const uint8_t *dst, const uint8_t *seg, size_t len)
{
    uint64_t s = 0;
    for (int i = 0; i < 16; i += 2)
        s += (uint32_t)(src[i] << 8 | src[i + 1]) + (uint32_t)(dst[i] << 8 | dst[i + 1]);
    s += (len >> 16) + (len & 0xFFFF) + 17;
    for (size_t i = 0; i < len; i++)
        s += (i & 1) ? seg[i] : (uint32_t)seg[i] << 8;
    while (s >> 16)
        s = (s & 0xFFFF) + (s >> 16);
    return (uint32_t)s;
}

/* The reference APDU of request r, or a negative status (BAD_ARGUMENT, NO_SPACE). */
static long ref_apdu(const dm_pipe_request *r, const uint8_t *values, size_t values_len, size_t cap, uint8_t *out)
{
    if ((uint64_t)r->value + r->value_len > values_len || (uint64_t)r->extra + r->extra_len > values_len)
        return DM_ERR_BAD_ARGUMENT;
    const int access = r->options & DM_PIPE_REQ_ACCESS, present = r->options & DM_PIPE_REQ_VALUE;
    if (r->kind > DM_PIPE_REQ_NOTIFY)
        return DM_ERR_BAD_ARGUMENT;
    int service = r->kind == DM_PIPE_REQ_GET || r->kind == DM_PIPE_REQ_SET || r->kind == DM_PIPE_REQ_ACTION;
    if (service && (r->head > 255 || r->class_id > 65535 || r->member > 255 || r->selector > 255))
        return DM_ERR_BAD_ARGUMENT;
    if (r->kind == DM_PIPE_REQ_NOTIFY && present && r->extra_len != 12)
        return DM_ERR_BAD_ARGUMENT;
    uint8_t tmp[3 * 4096 + 64];
    size_t n = 0;
    static const uint8_t NONE[1];
    const uint8_t *base = values ? values : NONE; /* (NULL + 0 is undefined) */
    const uint8_t *value = base + r->value, *extra = base + r->extra;
    if (r->kind == DM_PIPE_REQ_RAW) {
        memcpy(tmp, value, r->value_len);
        n = r->value_len;
    } else if (r->kind == DM_PIPE_REQ_NOTIFY) {
        tmp[n++] = 0x0F;
        for (int k = 24; k >= 0; k -= 8)
            tmp[n++] = (uint8_t)(r->head >> k);
        tmp[n++] = present ? 12 : 0;
        if (present) {
            memcpy(tmp + n, extra, 12);
            n += 12;
        }
        memcpy(tmp + n, value, r->value_len);
        n += r->value_len;
    } else {
        tmp[n++] = r->kind == DM_PIPE_REQ_GET ? 0xC0 : r->kind == DM_PIPE_REQ_SET ? 0xC1 : 0xC3;
        tmp[n++] = 0x01;
        tmp[n++] = (uint8_t)r->head;
        tmp[n++] = (uint8_t)(r->class_id >> 8);
        tmp[n++] = (uint8_t)r->class_id;
        memcpy(tmp + n, r->obis, 6);
        n += 6;
        tmp[n++] = (uint8_t)r->member;
        if (r->kind == DM_PIPE_REQ_ACTION) {
            tmp[n++] = present ? 1 : 0;
            if (present) {
                memcpy(tmp + n, value, r->value_len);
                n += r->value_len;
            }
        } else {
            tmp[n++] = access ? 1 : 0;
            if (access) {
                tmp[n++] = (uint8_t)r->selector;
                memcpy(tmp + n, extra, r->extra_len);
                n += r->extra_len;
            }
            if (r->kind == DM_PIPE_REQ_SET) {
                memcpy(tmp + n, value, r->value_len);
                n += r->value_len;
            }
        }
    }
    if (n > cap)
        return DM_ERR_NO_SPACE;
    memcpy(out, tmp, n);
    return (long)n;
}

typedef struct {
    uint32_t layer, iphc_flags;
    size_t ll_count;
    const dm_ll_pair *ll;
    dm_pipe_sender senders[2];
    dm_lowpan_context ctx[DM_LOWPAN_CONTEXTS];
} setup_t;

/* Request r's frame f (flen bytes) against the reference. */
static void check_frame(const setup_t *s, const dm_pipe_request *r, const uint8_t *apdu, size_t alen,
                        const uint8_t *f, size_t flen)
{
    uint8_t *dg = NULL;
    if (s->layer == DM_PIPE_LOWPAN) {
        /* decompress it with the request's link-layer pair */
        uint32_t end = (uint32_t)flen;
        dm_lowpan_item it;
        size_t cap = flen + 48;
        dg = fz_alloc(cap);
        const dm_ll_pair *ll = s->ll_count == 0 ? NULL : s->ll_count == 1 ? s->ll : &s->ll[r->peer];
        CHECK(dm_iphc_decompress(f, &end, 1, ll, ll != NULL, s->ctx, 0, dg, cap, &it) == 0 && it.status == DM_OK);
        f = dg;
        flen = it.length;
    }
    size_t p = 0;
    if (s->layer == DM_PIPE_LOWPAN || s->layer == DM_PIPE_IPV6) {
        CHECK(flen >= 48 && be32(f) == 0x60000000u);
        CHECK(f[4] == (uint8_t)((flen - 40) >> 8) && f[5] == (uint8_t)(flen - 40) && f[6] == 17 && f[7] == 64);
        CHECK(memcmp(f + 8, SOURCE, 16) == 0 && memcmp(f + 24, DESTINATIONS + 16 * r->peer, 16) == 0);
        p = 40;
    }
    if (s->layer != DM_PIPE_WRAPPER) {
        const uint8_t *u = f + p;
        size_t ulen = flen - p;
        CHECK(ulen >= 16 && be32(u) == 0x0FDBF0B0u && u[4] == (uint8_t)(ulen >> 8) && u[5] == (uint8_t)ulen);
        CHECK((u[6] | u[7]) != 0 && ones_sum(SOURCE, DESTINATIONS + 16 * r->peer, u, ulen) == 0xFFFF);
        p += 8;
    }
    const uint8_t *w = f + p;
    size_t wlen = flen - p;
    CHECK(wlen >= 8 && w[0] == 0 && w[1] == 1 && be32(w + 2) == r->wports);
    CHECK(((size_t)w[6] << 8 | w[7]) == wlen - 8);
    const uint8_t *body = w + 8;
    size_t blen = wlen - 8;
    if (r->sender == DM_PIPE_NONE) {
        CHECK(blen == alen && memcmp(body, apdu, alen) == 0);
    } else {
        const dm_pipe_sender *snd = &s->senders[r->sender];
        dm_secure_frame fr;
        size_t err, got;
        CHECK(dm_secure_parse(body, blen, &fr, &err) == DM_OK && fr.sc == snd->sc && fr.ic == r->ic);
        if (fr.title_len)
            CHECK(fr.title_len == 8 && memcmp(body + fr.title, snd->title, 8) == 0);
        uint8_t *plain = fz_alloc(blen);
        CHECK(dm_secure_open(snd->key, snd->title, body + fr.content, fr.content_len, NULL, 0, plain, blen, &got) ==
              DM_OK);
        CHECK(got == alen && memcmp(plain, apdu, alen) == 0);
        free(plain);
    }
    free(dg);
}

/* What sealing the reference APDU alone gives (its status). */
static int64_t ref_seal(const dm_pipe_sender *snd, const dm_pipe_request *r, const uint8_t *apdu, size_t alen)
{
    if (snd->sc > 0xFF)
        return DM_ERR_BAD_ARGUMENT;
    size_t cap = alen + 64;
    uint8_t *out = fz_alloc(cap);
    uint32_t offs[2] = {0, (uint32_t)alen}, oo[2];
    size_t err;
    int64_t rc = dm_secure_seal_batch(snd->key, (uint8_t)snd->sc, snd->title, r->ic, (int)snd->framing, apdu, offs, 1,
                                      out, cap, oo, &err);
    free(out);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 5)
        return 0;
    fz_keys_setup();
    setup_t s;
    memset(&s, 0, sizeof s);
    fz_contexts(s.ctx);
    const uint8_t opt = data[1];
    const int bad_layer = data[0] >= 4;
    s.layer = bad_layer ? 0x40u + data[0] : LAYERS[data[0]];
    s.iphc_flags = (opt & 4) ? DM_IPHC_ELIDE_CHECKSUM : 0;
    dm_ll_pair per_peer[NPEERS] = {FZ_LL[0], FZ_LL[1]};
    switch (opt & 3) {
    case 0: s.ll_count = 0; break;
    case 1: s.ll = &FZ_LL[0]; s.ll_count = 1; break;
    case 2: s.ll = &FZ_LL[2]; s.ll_count = 1; break;
    default: s.ll = per_peer; s.ll_count = NPEERS; break;
    }
    static const uint32_t FRAMINGS[4] = {DM_SEC_FRAME_GLO, DM_SEC_FRAME_DED, DM_SEC_FRAME_GENERAL_GLO,
                                         DM_SEC_FRAME_GENERAL_DED};
    static const uint32_t SCS[8] = {0x30, 0x20, 0x10, 0x00, 0x31, 0x130, 0xB0, 0x32};
    s.senders[0].key = KEYS[0];
    memcpy(s.senders[0].title, SERVER, 8);
    s.senders[0].framing = FRAMINGS[data[3] & 3];
    s.senders[0].sc = SCS[data[4] & 7];
    s.senders[1].key = KEYS[4]; /* 256-bit keys */
    memcpy(s.senders[1].title, CLIENT, 8);
    s.senders[1].framing = FRAMINGS[(data[3] >> 2) & 3];
    s.senders[1].sc = (SCS[(data[4] >> 3) & 7] & ~0xFu) | 2;

    const size_t nreq = data[2] % (MAXR + 1);
    size_t p = 5;
    dm_pipe_request reqs[MAXR];
    memset(reqs, 0, sizeof reqs);
    size_t n = 0;
    while (n < nreq && size - p >= REQ_BYTES) {
        const uint8_t *q = data + p, big = q[30];
        dm_pipe_request *r = &reqs[n++];
        r->kind = q[0] % 6;
        r->options = q[1] & 3;
        r->head = be32(q + 2);
        if (r->kind != DM_PIPE_REQ_NOTIFY && !(big & 1))
            r->head &= 0xFF;
        r->class_id = (uint32_t)q[6] << 8 | q[7] | (big & 2 ? 0x10000u : 0);
        r->member = q[8] | (big & 4 ? 0x100u : 0);
        r->selector = q[9] | (big & 8 ? 0x100u : 0);
        r->value = q[10];
        r->value_len = q[11] | (big & 16 ? (uint32_t)q[11] << 4 : 0);
        r->extra = q[12];
        r->extra_len = (big & 32) ? 12 : q[13];
        r->sender = q[14] % 4 == 3 ? 7 : q[14] % 4 == 2 ? DM_PIPE_NONE : q[14] % 4;
        r->ic = be32(q + 15);
        r->peer = q[19] % 5 == 4 ? NPEERS : q[19] % 2;
        r->wports = be32(q + 20);
        memcpy(r->obis, q + 24, 6);
        p += REQ_BYTES;
    }
    const size_t values_len = size - p;
    const uint8_t *values = (values_len == 0 && (opt & 16)) ? NULL : fz_dup(data + p, values_len);

    dm_pipe_encode_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.layer = s.layer;
    cfg.iphc_flags = s.iphc_flags;
    cfg.ports = 0x0FDBF0B0u;
    cfg.ip = 64u << 16;
    cfg.source = SOURCE;
    cfg.destinations = DESTINATIONS;
    cfg.npeers = NPEERS;
    cfg.ll = s.ll;
    cfg.ll_count = s.ll_count;
    cfg.contexts = s.ctx;
    cfg.senders = s.senders;
    cfg.nsenders = 2;

    /* the reference: each request's APDU, or the first request that must fail */
    size_t apdu_cap = 3 * 4096 + 64;
    uint8_t *ref = fz_alloc(apdu_cap * (n ? n : 1));
    size_t ref_len[MAXR];
    int64_t expect = 0;
    size_t expect_index = 0;
    for (size_t i = 0; i < n && expect == 0 && !bad_layer; i++) {
        const dm_pipe_request *r = &reqs[i];
        long len = DM_ERR_BAD_ARGUMENT;
        if (s.layer == DM_PIPE_WRAPPER || r->peer < NPEERS)
            len = ref_apdu(r, values, values_len, apdu_cap, ref + i * apdu_cap);
        if (len >= 0 && r->sender != DM_PIPE_NONE) {
            if (r->sender >= 2) {
                len = DM_ERR_BAD_ARGUMENT;
            } else {
                int64_t sealed = ref_seal(&s.senders[r->sender], r, ref + i * apdu_cap, (size_t)len);
                if (sealed < 0)
                    len = (long)sealed;
            }
        }
        if (len < 0) {
            expect = len;
            expect_index = i;
        } else {
            ref_len[i] = (size_t)len;
        }
    }
    if (bad_layer)
        expect = DM_ERR_BAD_ARGUMENT;

    /* roomy buffers: the reference outcome */
    size_t out_cap = values_len * 3 * (n + 1) + 200 * (n + 1);
    dm_pipe_encode_buffers eb;
    memset(&eb, 0, sizeof eb);
    uint32_t out_offsets[MAXR + 1], stage_ends[MAXR];
    dm_lowpan_item lowpan[MAXR];
    dm_ll_pair ll_scratch[MAXR];
    eb.apdu = fz_alloc(apdu_cap);
    eb.apdu_cap = apdu_cap;
    eb.stage = fz_alloc(out_cap);
    eb.stage_cap = out_cap;
    eb.stage_ends = stage_ends;
    eb.ll = ll_scratch;
    eb.lowpan = lowpan;
    eb.out = fz_alloc(out_cap);
    eb.out_cap = out_cap;
    eb.out_offsets = out_offsets;
    int64_t rc = dm_pipe_encode(&cfg, reqs, n, values, values_len, &eb);
    if (expect < 0) {
        CHECK(rc == expect);
        if (!bad_layer)
            CHECK(eb.err_index == expect_index);
    } else {
        CHECK(rc >= 0 && out_offsets[0] == 0 && (size_t)rc == out_offsets[n]);
        for (size_t i = 0; i < n; i++) {
            CHECK(out_offsets[i] <= out_offsets[i + 1]);
            check_frame(&s, &reqs[i], ref + i * apdu_cap, ref_len[i], eb.out + out_offsets[i],
                        out_offsets[i + 1] - out_offsets[i]);
        }
    }

    /* tight buffers: DM_ERR_NO_SPACE, or what the roomy ones gave */
    if ((opt & 8) && size > 5) {
        dm_pipe_encode_buffers tb = eb;
        uint32_t t_offsets[MAXR + 1];
        const uint8_t k = data[size - 1];
        tb.apdu_cap = k % 64;
        tb.stage_cap = (size_t)k * 3;
        tb.out_cap = (size_t)k * 2;
        tb.out = fz_alloc(tb.out_cap);
        tb.stage = fz_alloc(tb.stage_cap);
        tb.out_offsets = t_offsets;
        int64_t t = dm_pipe_encode(&cfg, reqs, n, values, values_len, &tb);
        if (t != DM_ERR_NO_SPACE) {
            CHECK(t == rc);
            if (t >= 0)
                CHECK(memcmp(t_offsets, out_offsets, sizeof(uint32_t) * (n + 1)) == 0 &&
                      memcmp(tb.out, eb.out, (size_t)t) == 0);
        } else {
            /* room runs out at a request no later than the one the roomy call failed at */
            CHECK(n > 0 && tb.err_index < n);
            if (rc < 0)
                CHECK(tb.err_index <= eb.err_index);
        }
        free(tb.out);
        free(tb.stage);
    }
    free(eb.apdu);
    free(eb.stage);
    free(eb.out);
    free(ref);
    free((void *)values);
    return 0;
}
