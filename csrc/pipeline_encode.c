/* The send side of the batch frame pipeline: N requests, every layer, one
 * call (csrc/dlmsmesh.h, dm_pipe_encode).
 *
 * The APDU is written here from the request's fields and the A-XDR bytes the
 * caller encoded (a C core cannot read Python values); everything below it
 * is done by the function that owns the layer: dm_secure_seal_batch (one
 * frame at a time, so every request has its own key and counter, with the
 * framing of that function), dm_wrapper_encode, dm_udp_checksum, and one
 * dm_iphc_compress over the whole batch.
 *
 * The bytes are those of python/dlmsmesh/_pure/pipeline.py (apdu.encode,
 * SecurityContext sealing, wrapper.encode, ipv6.build, lowpan compression).
 */
#include <string.h>

#include "bytes.h"
#include "dlmsmesh.h"

static int in_values(uint32_t off, uint32_t len, size_t values_len)
{
    return off <= values_len && len <= values_len - off;
}

/* Copy len bytes of the caller's values (which may be NULL when empty). */
static uint8_t *put_values(uint8_t *p, const uint8_t *values, uint32_t off, uint32_t len)
{
    if (len != 0)
        memcpy(p, values + off, len);
    return p + len;
}

/* The 9-octet COSEM attribute or method descriptor. */
static size_t put_descriptor(uint8_t *p, const dm_pipe_request *r)
{
    dm_put_be16(p, (uint16_t)r->class_id);
    memcpy(p + 2, r->obis, 6);
    p[8] = (uint8_t)r->member;
    return 9;
}

/* The APDU of one request, as apdu.encode writes it (IEC 62056-5-3). */
static int build_apdu(const dm_pipe_request *r, const uint8_t *values, size_t values_len, uint8_t *out,
                      size_t cap, size_t *len)
{
    if (!in_values(r->value, r->value_len, values_len) || !in_values(r->extra, r->extra_len, values_len))
        return DM_ERR_BAD_ARGUMENT;
    const int access = (r->options & DM_PIPE_REQ_ACCESS) != 0;
    const int present = (r->options & DM_PIPE_REQ_VALUE) != 0;
    size_t need;
    switch (r->kind) {
    case DM_PIPE_REQ_RAW: need = r->value_len; break;
    case DM_PIPE_REQ_GET: need = 3 + 9 + 1 + (access ? 1 + (size_t)r->extra_len : 0); break;
    case DM_PIPE_REQ_SET: need = 3 + 9 + 1 + (access ? 1 + (size_t)r->extra_len : 0) + r->value_len; break;
    case DM_PIPE_REQ_ACTION: need = 3 + 9 + 1 + (present ? (size_t)r->value_len : 0); break;
    case DM_PIPE_REQ_NOTIFY: need = 1 + 4 + 1 + (present ? 12 : 0) + (size_t)r->value_len; break;
    default: return DM_ERR_BAD_ARGUMENT;
    }
    if (r->kind != DM_PIPE_REQ_RAW && r->kind != DM_PIPE_REQ_NOTIFY &&
        (r->head > 0xFF || r->class_id > 0xFFFF || r->member > 0xFF || r->selector > 0xFF))
        return DM_ERR_BAD_ARGUMENT;
    if (r->kind == DM_PIPE_REQ_NOTIFY && present && r->extra_len != 12)
        return DM_ERR_BAD_ARGUMENT;
    if (need > cap)
        return DM_ERR_NO_SPACE;
    uint8_t *p = out;
    static const uint8_t TAGS[4] = {0, 0xC0, 0xC1, 0xC3};
    switch (r->kind) {
    case DM_PIPE_REQ_RAW:
        p = put_values(p, values, r->value, r->value_len);
        break;
    case DM_PIPE_REQ_GET:
    case DM_PIPE_REQ_SET:
    case DM_PIPE_REQ_ACTION:
        *p++ = TAGS[r->kind];
        *p++ = 1; /* -normal */
        *p++ = (uint8_t)r->head;
        p += put_descriptor(p, r);
        if (r->kind == DM_PIPE_REQ_ACTION) {
            *p++ = present ? 1 : 0;
            if (present)
                p = put_values(p, values, r->value, r->value_len);
            break;
        }
        *p++ = access ? 1 : 0;
        if (access) {
            *p++ = (uint8_t)r->selector;
            p = put_values(p, values, r->extra, r->extra_len);
        }
        if (r->kind == DM_PIPE_REQ_SET)
            p = put_values(p, values, r->value, r->value_len);
        break;
    default: /* DM_PIPE_REQ_NOTIFY */
        *p++ = 0x0F;
        dm_put_be32(p, r->head);
        p += 4;
        *p++ = present ? 12 : 0;
        if (present)
            p = put_values(p, values, r->extra, 12);
        p = put_values(p, values, r->value, r->value_len);
        break;
    }
    *len = (size_t)(p - out);
    return DM_OK;
}

/* The APDU, sealed when the request names a sender, at dst. */
static int64_t protect(const dm_pipe_encode_config *cfg, const dm_pipe_request *r, const uint8_t *apdu,
                       size_t len, uint8_t *dst, size_t cap)
{
    if (r->sender == DM_PIPE_NONE) {
        if (len > cap)
            return DM_ERR_NO_SPACE;
        memcpy(dst, apdu, len);
        return (int64_t)len;
    }
    if (r->sender >= cfg->nsenders)
        return DM_ERR_BAD_ARGUMENT;
    const dm_pipe_sender *s = &cfg->senders[r->sender];
    const uint32_t offsets[2] = {0, (uint32_t)len};
    uint32_t out_offsets[2];
    size_t err;
    if (s->sc > 0xFF)
        return DM_ERR_BAD_ARGUMENT;
    return dm_secure_seal_batch(s->key, (uint8_t)s->sc, s->title, r->ic, (int)s->framing, apdu, offsets, 1, dst,
                                cap, out_offsets, &err);
}

/* Wrapper, UDP and IPv6 headers in front of the protected APDU at
 * frame + head, which is apdu_len bytes long. */
static int headers(const dm_pipe_encode_config *cfg, const dm_pipe_request *r, uint8_t *frame, size_t head,
                   size_t apdu_len)
{
    uint8_t *w = frame + head - DM_WRAPPER_HEADER;
    if (apdu_len > 0xFFFF)
        return DM_ERR_PIPE_TOO_LONG;
    int rc = dm_wrapper_encode((uint16_t)(r->wports >> 16), (uint16_t)r->wports, apdu_len, w, DM_WRAPPER_HEADER);
    if (rc < 0)
        return rc;
    if (cfg->layer == DM_PIPE_WRAPPER)
        return DM_OK;
    const size_t udp_len = DM_UDP_HEADER + DM_WRAPPER_HEADER + apdu_len;
    if (udp_len > 0xFFFF)
        return DM_ERR_PIPE_TOO_LONG;
    uint8_t *u = w - DM_UDP_HEADER;
    const uint8_t *dst = cfg->destinations + (size_t)16 * r->peer;
    dm_put_be16(u, (uint16_t)(cfg->ports >> 16));
    dm_put_be16(u + 2, (uint16_t)cfg->ports);
    dm_put_be16(u + 4, (uint16_t)udp_len);
    dm_put_be16(u + 6, 0);
    int32_t sum = dm_udp_checksum(cfg->source, dst, u, udp_len);
    if (sum < 0)
        return sum;
    dm_put_be16(u + 6, (uint16_t)sum);
    if (cfg->layer == DM_PIPE_UDP)
        return DM_OK;
    uint8_t *ip = u - DM_IPV6_HEADER;
    const uint32_t tc = cfg->ip >> 24, hop = (cfg->ip >> 16) & 0xFF;
    dm_put_be32(ip, 6u << 28 | tc << 20 | (cfg->flow_label & 0xFFFFF));
    dm_put_be16(ip + 4, (uint16_t)udp_len);
    ip[6] = DM_IPV6_NH_UDP;
    ip[7] = (uint8_t)hop;
    memcpy(ip + 8, cfg->source, 16);
    memcpy(ip + 24, dst, 16);
    return DM_OK;
}

static size_t header_bytes(uint32_t layer)
{
    switch (layer) {
    case DM_PIPE_WRAPPER: return DM_WRAPPER_HEADER;
    case DM_PIPE_UDP: return DM_UDP_HEADER + DM_WRAPPER_HEADER;
    default: return DM_IPV6_HEADER + DM_UDP_HEADER + DM_WRAPPER_HEADER;
    }
}

static int check_config(const dm_pipe_encode_config *cfg, const dm_pipe_request *reqs, size_t n,
                        const uint8_t *values, size_t values_len, const dm_pipe_encode_buffers *buf)
{
    if (cfg == NULL || buf == NULL || buf->out_offsets == NULL || (n != 0 && (reqs == NULL || buf->apdu == NULL)) ||
        (values == NULL && values_len != 0))
        return DM_ERR_BAD_ARGUMENT;
    if (cfg->layer != DM_PIPE_WRAPPER && cfg->layer != DM_PIPE_UDP && cfg->layer != DM_PIPE_IPV6 &&
        cfg->layer != DM_PIPE_LOWPAN)
        return DM_ERR_BAD_ARGUMENT;
    if (cfg->senders == NULL && cfg->nsenders != 0)
        return DM_ERR_BAD_ARGUMENT;
    if (cfg->layer != DM_PIPE_WRAPPER && (cfg->source == NULL || cfg->destinations == NULL))
        return DM_ERR_BAD_ARGUMENT;
    if (cfg->layer == DM_PIPE_LOWPAN) {
        if (n != 0 && (buf->stage == NULL || buf->stage_ends == NULL || buf->lowpan == NULL ||
                       (cfg->ll_count > 1 && buf->ll == NULL)))
            return DM_ERR_BAD_ARGUMENT;
        if ((cfg->ll == NULL && cfg->ll_count != 0) || (cfg->ll_count > 1 && cfg->ll_count != cfg->npeers))
            return DM_ERR_BAD_ARGUMENT;
    }
    return DM_OK;
}

int64_t dm_pipe_encode(const dm_pipe_encode_config *cfg, const dm_pipe_request *reqs, size_t n,
                       const uint8_t *values, size_t values_len, dm_pipe_encode_buffers *buf)
{
    int rc = check_config(cfg, reqs, n, values, values_len, buf);
    if (rc < 0)
        return rc;
    buf->err_index = 0;
    const int compress = cfg->layer == DM_PIPE_LOWPAN;
    uint8_t *dst = compress ? buf->stage : buf->out;
    const size_t cap = compress ? buf->stage_cap : buf->out_cap;
    const size_t head = header_bytes(cfg->layer);
    size_t pos = 0;
    buf->out_offsets[0] = 0;
    for (size_t i = 0; i < n; i++) {
        const dm_pipe_request *r = &reqs[i];
        size_t len = 0;
        buf->err_index = i;
        if (cfg->layer != DM_PIPE_WRAPPER && r->peer >= cfg->npeers)
            return DM_ERR_BAD_ARGUMENT;
        rc = build_apdu(r, values, values_len, buf->apdu, buf->apdu_cap, &len);
        if (rc < 0)
            return rc;
        if (cap - pos < head)
            return DM_ERR_NO_SPACE;
        int64_t sealed = protect(cfg, r, buf->apdu, len, dst + pos + head, cap - pos - head);
        if (sealed < 0)
            return sealed;
        rc = headers(cfg, r, dst + pos, head, (size_t)sealed);
        if (rc < 0)
            return rc;
        pos += head + (size_t)sealed;
        if (pos > 0xFFFFFFFFu)
            return DM_ERR_PIPE_TOO_LONG;
        if (compress)
            buf->stage_ends[i] = (uint32_t)pos;
        else
            buf->out_offsets[i + 1] = (uint32_t)pos;
    }
    if (!compress)
        return (int64_t)pos;

    const dm_ll_pair *ll = NULL;
    size_t ll_count = 0;
    if (cfg->ll_count == 1) {
        ll = cfg->ll;
        ll_count = 1;
    } else if (cfg->ll_count > 1) {
        for (size_t i = 0; i < n; i++)
            buf->ll[i] = cfg->ll[reqs[i].peer];
        ll = buf->ll;
        ll_count = n;
    }
    int failed = dm_iphc_compress(buf->stage, buf->stage_ends, n, ll, ll_count, cfg->contexts,
                                  (int)(cfg->iphc_flags & DM_IPHC_ELIDE_CHECKSUM), buf->out, buf->out_cap,
                                  buf->lowpan);
    if (failed < 0)
        return failed;
    size_t end = 0;
    for (size_t i = 0; i < n; i++) {
        if (buf->lowpan[i].status < 0) {
            buf->err_index = i;
            return buf->lowpan[i].status;
        }
        buf->out_offsets[i] = buf->lowpan[i].offset;
        end = (size_t)buf->lowpan[i].offset + buf->lowpan[i].length;
        buf->out_offsets[i + 1] = (uint32_t)end;
    }
    return (int64_t)end;
}
