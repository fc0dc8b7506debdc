/* libFuzzer harness: the batch frame pipeline (csrc/pipeline_decode.c,
 * dm_pipe_decode; csrc/pipeline_encode.c, dm_pipe_encode).
 *
 * Input: byte 0 the layer the frames start at (0 lowpan, 1 ipv6, 2 udp,
 * 3 wrapper, 4 apdu), byte 1 options (bit 0: keys, bit 1: plain APDUs
 * allowed, bit 2: UDP checksum required, bit 3: counters, bit 4: the server's
 * unicast counters left to the caller, bit 5: a tiny program buffer, bits 6-7:
 * the link-layer address pair), then up to 8 frames, each after its length
 * octet.  Keys and titles are the secure harness's (fuzz_keys.h), so the
 * spec's ciphered frames verify.
 * Checks: the count of frames without error; documented statuses and layers;
 * error offsets inside the frame (or inside the uncompressed headers); a frame that fails in the security layer
 * leaves no plaintext; with room enough, the batch gives every frame the
 * result (status, layer, offset, flags, security fields, plaintext, loader
 * program or scalar) of the same frames decoded one per call in order, and
 * leaves the counter table as those calls do; a frame that decoded encodes
 * (dm_pipe_encode: the same layer, key, SC and counter) to a frame that
 * decodes to the same plaintext and APDU answer.
 */
#include "fuzz_keys.h"
#include "fuzz_lowpan.h"

#define MAXF 8
static const uint32_t LAYERS[5] = {DM_PIPE_LOWPAN, DM_PIPE_IPV6, DM_PIPE_UDP, DM_PIPE_WRAPPER, DM_PIPE_APDU};

void fuzz_pipeline_teardown(void);
void fuzz_pipeline_teardown(void) { fz_keys_teardown(); }

typedef struct {
    dm_pipe_buffers b;
    dm_pipe_item items[MAXF];
    dm_secure_item secure[MAXF];
    uint32_t stage_offsets[MAXF + 1];
    uint32_t touched[3 * 3];
} run_t;

static int64_t decode(const dm_pipe_config *cfg, const uint8_t *in, const uint32_t *offsets, size_t n,
                      size_t program_cap, run_t *r)
{
    size_t total = offsets[n] - offsets[0];
    memset(r, 0, sizeof *r);
    r->b.datagrams_cap = total + 48 * n;
    r->b.datagrams = fz_alloc(r->b.datagrams_cap);
    r->b.stage_cap = total;
    r->b.stage = fz_alloc(total);
    r->b.plain = fz_alloc(total);
    memset(r->b.plain, 0, total ? total : 1);
    r->b.stage_offsets = r->stage_offsets;
    r->b.secure = r->secure;
    r->b.program_cap = program_cap;
    r->b.program = fz_alloc(program_cap);
    r->b.items = r->items;
    r->b.touched = r->touched;
    return dm_pipe_decode(cfg, in, offsets, n, &r->b);
}

static void release(run_t *r)
{
    free(r->b.datagrams);
    free(r->b.stage);
    free(r->b.plain);
    free(r->b.program);
}

/* the plaintext APDU of item i, and its length */
static const uint8_t *plaintext(const run_t *r, const uint8_t *in, size_t i, size_t *len)
{
    const dm_pipe_item *it = &r->items[i];
    *len = it->plain_len;
    if (it->flags & DM_PIPE_F_CIPHERED)
        return r->b.plain + it->plain;
    const uint8_t *base = ((it->flags & DM_PIPE_F_DATAGRAM) ? r->b.datagrams : in) + it->base;
    return base + it->plain;
}

static int known_status(int rc)
{
    switch (rc) {
    case DM_OK: case DM_ERR_TRUNCATED: case DM_ERR_BAD_TAG: case DM_ERR_BAD_LENGTH: case DM_ERR_TOO_DEEP:
    case DM_ERR_TOO_MANY: case DM_ERR_TRAILING: case DM_ERR_BAD_UTF8: case DM_ERR_BAD_DESCRIPTION:
    case DM_ERR_COMPACT_OVERRUN: case DM_ERR_ZERO_SIZE: case DM_ERR_APDU_FLAG: case DM_ERR_APDU_CHOICE:
    case DM_ERR_WRAPPER_VERSION: case DM_ERR_WRAPPER_LENGTH: case DM_ERR_IPV6_VERSION: case DM_ERR_IPV6_LENGTH:
    case DM_ERR_UDP_LENGTH: case DM_ERR_LOWPAN_DISPATCH: case DM_ERR_LOWPAN_RESERVED: case DM_ERR_LOWPAN_CONTEXT:
    case DM_ERR_LOWPAN_LINK: case DM_ERR_LOWPAN_NHC: case DM_ERR_LOWPAN_SIZE: case DM_ERR_SEC_AUTH:
    case DM_ERR_SEC_SUITE: case DM_ERR_SEC_NO_KEY: case DM_ERR_SEC_CONTROL: case DM_ERR_SEC_POLICY:
    case DM_ERR_SEC_TAG: case DM_ERR_SEC_TITLE: case DM_ERR_SEC_NO_TITLE: case DM_ERR_SEC_MISMATCH:
    case DM_ERR_PIPE_REPLAY: case DM_ERR_PIPE_FRAGMENT: case DM_ERR_PIPE_NOT_UDP: case DM_ERR_PIPE_CHECKSUM:
    case DM_ERR_PIPE_PLAIN: case DM_ERR_PIPE_NO_KEYS:
        return 1;
    default:
        return 0;
    }
}

static int all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

/* the fields of two items that do not depend on where the buffers put things */
static int same_item(const run_t *a, size_t i, const uint8_t *ain, const run_t *b, size_t j, const uint8_t *bin)
{
    const dm_pipe_item *x = &a->items[i], *y = &b->items[j];
    if (x->status != y->status || x->layer != y->layer || x->err_offset != y->err_offset || x->flags != y->flags ||
        x->lowpan != y->lowpan || x->header_length != y->header_length || x->uncompressed != y->uncompressed ||
        x->base_len != y->base_len || x->udp != y->udp || x->wrapper != y->wrapper || x->apdu != y->apdu ||
        x->apdu_len != y->apdu_len || x->plain_len != y->plain_len || x->peer != y->peer || x->tag != y->tag ||
        x->sc != y->sc || x->ic != y->ic || x->key_set != y->key_set || x->replay_last != y->replay_last ||
        x->program_len != y->program_len || x->scalar != y->scalar || x->value_lo != y->value_lo ||
        x->value_hi != y->value_hi)
        return 0;
    if (x->status == DM_OK && !(x->flags & DM_PIPE_F_DEFER_SECURITY)) {
        size_t n1, n2;
        const uint8_t *p1 = plaintext(a, ain, i, &n1), *p2 = plaintext(b, bin, j, &n2);
        if (n1 != n2 || memcmp(p1, p2, n1) != 0)
            return 0;
    }
    if (x->program_len && memcmp(a->b.program + x->program, b->b.program + y->program, x->program_len) != 0)
        return 0;
    return 1;
}

static uint32_t framing_of(uint32_t tag)
{
    if (tag == 0xDB)
        return DM_SEC_FRAME_GENERAL_GLO;
    if (tag == 0xDC)
        return DM_SEC_FRAME_GENERAL_DED;
    if (tag == 0xDD || tag == 0xDF)
        return 0xFFFFFFFFu; /* general-ciphering/-signing: not a dm_pipe_encode framing */
    /* service-specific: ded- tags are the plain tag + 0x40 (< 0x80) or + 0x10 */
    return (tag >= 0x40 && tag < 0x80) || (tag >= 0xD0 && tag <= 0xD7) ? DM_SEC_FRAME_DED : DM_SEC_FRAME_GLO;
}

/* Encode item i's plaintext again at the same layer and decode it. */
static void reencode(const dm_pipe_config *cfg, const run_t *r, const uint8_t *in, size_t i)
{
    const dm_pipe_item *it = &r->items[i];
    if (cfg->layer == DM_PIPE_APDU || it->status != DM_OK || (it->flags & DM_PIPE_F_DEFER_SECURITY))
        return;
    size_t plen;
    const uint8_t *plain = plaintext(r, in, i, &plen);
    dm_pipe_sender sender;
    dm_pipe_request req;
    memset(&req, 0, sizeof req);
    req.kind = DM_PIPE_REQ_RAW;
    req.value = 0;
    req.value_len = (uint32_t)plen;
    req.sender = DM_PIPE_NONE;
    req.wports = 0x00100001u;
    if (it->flags & DM_PIPE_F_CIPHERED) {
        uint32_t framing = framing_of(it->tag);
        if (framing == 0xFFFFFFFFu || it->peer >= cfg->npeers)
            return;
        const dm_secure_peer *peer = &cfg->peers[it->peer];
        sender.key = it->key_set == DM_SEC_KEY_UNICAST ? peer->unicast
                   : it->key_set == DM_SEC_KEY_BROADCAST ? peer->broadcast
                                                         : peer->dedicated;
        memcpy(sender.title, peer->title, 8);
        sender.sc = it->sc;
        sender.framing = framing;
        req.sender = 0;
        req.ic = it->ic;
        /* a service-specific frame carries no title: the peer must be the default one */
        if ((framing == DM_SEC_FRAME_GLO || framing == DM_SEC_FRAME_DED) && it->peer != cfg->default_peer)
            return;
        if (peer->flags & DM_SEC_ANY_TITLE)
            return;
    }
    static const uint8_t SRC[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0x02, 0x12, 0x4b, 0, 0, 1, 2, 3};
    static const uint8_t DST[16] = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x02, 0x12, 0x4B, 0x00, 0x00, 0x04, 0x05, 0x06};
    dm_pipe_encode_config ec;
    memset(&ec, 0, sizeof ec);
    ec.layer = cfg->layer;
    ec.ports = 0x0FDB0FDBu;
    ec.ip = 64u << 16;
    ec.source = SRC;
    ec.destinations = DST;
    ec.npeers = 1;
    ec.ll = cfg->ll;
    ec.ll_count = cfg->ll_count;
    ec.contexts = cfg->contexts;
    ec.senders = req.sender == 0 ? &sender : NULL;
    ec.nsenders = req.sender == 0 ? 1 : 0;
    size_t cap = plen + 200;
    dm_pipe_encode_buffers eb;
    memset(&eb, 0, sizeof eb);
    uint32_t out_offsets[2], stage_ends[1];
    dm_lowpan_item lowpan[1];
    eb.apdu = fz_alloc(plen + 1);
    eb.apdu_cap = plen + 1;
    eb.stage = fz_alloc(cap);
    eb.stage_cap = cap;
    eb.stage_ends = stage_ends;
    eb.lowpan = lowpan;
    eb.out = fz_alloc(cap);
    eb.out_cap = cap;
    eb.out_offsets = out_offsets;
    int64_t n = dm_pipe_encode(&ec, &req, 1, plain, plen, &eb);
    if (n == DM_ERR_PIPE_TOO_LONG) {
        CHECK(plen > 0xFFFF - 100);
    } else {
        CHECK(n > 0 && (size_t)n == out_offsets[1] && out_offsets[0] == 0);
        /* decode it alone, counters fresh */
        dm_pipe_config dc = *cfg;
        dm_rx_counter counters[9];
        memset(counters, 0, sizeof counters);
        if (cfg->counters)
            dc.counters = counters;
        uint32_t offs[2] = {0, (uint32_t)n};
        run_t *back = fz_alloc(sizeof *back);
        CHECK(decode(&dc, eb.out, offs, 1, 64 + 16 * (size_t)n, back) == 1);
        const dm_pipe_item *bi = &back->items[0];
        CHECK(bi->status == DM_OK && bi->plain_len == plen && bi->scalar == it->scalar &&
              bi->value_lo == it->value_lo && bi->value_hi == it->value_hi && bi->program_len == it->program_len);
        size_t blen;
        const uint8_t *bp = plaintext(back, eb.out, 0, &blen);
        CHECK(blen == plen && memcmp(bp, plain, plen) == 0);
        if (it->program_len)
            CHECK(memcmp(back->b.program + bi->program, r->b.program + it->program, it->program_len) == 0);
        release(back);
        free(back);
    }
    free(eb.apdu);
    free(eb.stage);
    free(eb.out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    fz_keys_setup();
    dm_lowpan_context ctx[DM_LOWPAN_CONTEXTS];
    fz_contexts(ctx);
    const uint8_t opt = data[1];
    /* the frames, back to back, and their offsets */
    uint32_t offsets[MAXF + 1];
    size_t n = 0, p = 2;
    uint8_t *in = fz_alloc(size);
    size_t total = 0;
    offsets[0] = 0;
    while (p < size && n < MAXF) {
        size_t len = data[p++];
        if (len > size - p)
            len = size - p;
        memcpy(in + total, data + p, len);
        total += len;
        p += len;
        offsets[++n] = (uint32_t)total;
    }
    dm_pipe_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.layer = LAYERS[data[0] % 5];
    cfg.flags = (opt & 1 ? DM_PIPE_KEYS : 0) | (opt & 2 ? DM_PIPE_ALLOW_PLAIN : 0) | (opt & 4 ? DM_PIPE_CHECKSUM : 0);
    cfg.ll = &FZ_LL[(opt >> 6) & 3];
    cfg.ll_count = ((opt >> 6) & 3) == 3 ? 0 : 1;
    cfg.contexts = ctx;
    cfg.peers = RINGS[0].peers;
    cfg.npeers = RINGS[0].npeers;
    cfg.default_peer = RINGS[0].default_peer;
    dm_rx_counter counters[9], single_counters[9];
    memset(counters, 0, sizeof counters);
    if (opt & 16) /* the server's unicast entry is the caller's */
        counters[2 * 3 + DM_SEC_KEY_UNICAST].flags = DM_RX_CALLER;
    memcpy(single_counters, counters, sizeof counters);
    if (opt & 8)
        cfg.counters = counters;
    const int tight = (opt & 32) != 0;
    size_t program_cap = tight ? 40 : 64 * (n + 1) + 16 * total;

    run_t *batch = fz_alloc(sizeof *batch);
    int64_t ok = decode(&cfg, in, offsets, n, program_cap, batch);
    CHECK(ok >= 0 && (size_t)ok <= n);
    int64_t count = 0;
    for (size_t i = 0; i < n; i++) {
        const dm_pipe_item *it = &batch->items[i];
        size_t flen = offsets[i + 1] - offsets[i];
        CHECK(known_status(it->status));
        CHECK(it->layer >= DM_PIPE_LOWPAN && it->layer <= DM_PIPE_APDU);
        if (it->status == DM_OK) {
            count++;
            CHECK(it->layer == DM_PIPE_APDU && it->plain_len <= flen + 48);
        } else {
            /* an error in the uncompressed headers of an IPHC frame is reported at its datagram
             * offset (as lowpan.LowpanFrame.frame_offset does), which may lie past a short frame */
            CHECK(it->err_offset <= flen || ((it->flags & DM_PIPE_F_DATAGRAM) && it->err_offset < it->uncompressed));
            if (it->layer == DM_PIPE_SECURITY && (it->flags & DM_PIPE_F_CIPHERED))
                CHECK(all_zero(batch->b.plain + batch->stage_offsets[i],
                               batch->stage_offsets[i + 1] - batch->stage_offsets[i]));
        }
        if (it->flags & DM_PIPE_F_CIPHERED)
            CHECK(cfg.flags & DM_PIPE_KEYS);
    }
    CHECK(count == ok);
    CHECK(batch->b.program_len <= program_cap);
    for (size_t k = 0; k < batch->b.touched_count; k++) /* commit, as the caller does */
        counters[batch->touched[k]].flags &= ~(uint32_t)DM_RX_TOUCHED;

    if (!tight) {
        /* the same frames one per call, in order, sharing a counter table */
        if (opt & 8)
            cfg.counters = single_counters;
        for (size_t i = 0; i < n; i++) {
            uint32_t offs[2] = {0, offsets[i + 1] - offsets[i]};
            const uint8_t *frame = in + offsets[i];
            run_t *one = fz_alloc(sizeof *one);
            int64_t ok1 = decode(&cfg, frame, offs, 1, 64 + 16 * (size_t)offs[1], one);
            CHECK(ok1 == (batch->items[i].status == DM_OK));
            CHECK(same_item(batch, i, in, one, 0, frame));
            for (size_t k = 0; k < one->b.touched_count; k++)
                single_counters[one->touched[k]].flags &= ~(uint32_t)DM_RX_TOUCHED;
            release(one);
            free(one);
        }
        /* (prev_* are scratch of each call and may differ) */
        for (size_t k = 0; k < 9; k++)
            CHECK(counters[k].last == single_counters[k].last && counters[k].flags == single_counters[k].flags);
        if (opt & 8)
            cfg.counters = counters;
        for (size_t i = 0; i < n; i++)
            reencode(&cfg, batch, in, i);
    }
    release(batch);
    free(batch);
    free(in);
    return 0;
}
