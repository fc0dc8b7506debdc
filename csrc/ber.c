/* BER TLV walker and header writer (the ACSE layer: AARQ/AARE/RLRQ/RLRE).
 *
 * The walker lists a whole TLV tree in one call into a caller-owned node
 * array: iterative (an explicit stack of content ends, bounded by
 * DM_BER_DEPTH_LIMIT), no allocation, every read checked against the end of
 * the enclosing TLV before it happens.  When the array is full it keeps
 * counting so the caller can size it exactly and call once more.
 *
 * Error offsets and the order of checks follow python/dlmsmesh/_pure/ber.py
 * exactly: both backends must report the same error at the same offset.
 */
#include "bytes.h"
#include "dlmsmesh.h"

#define FAIL(code, off)            \
    do {                           \
        res->err_offset = (off);   \
        return (code);             \
    } while (0)

/* A BER definite length: the A-XDR length forms (short, or 0x81..0x84 and
 * the octets), and 0x80 is the indefinite form, refused.  On failure *src
 * stays at the length's first octet. */
static int ber_read_length(const uint8_t **src, const uint8_t *end, uint32_t *length)
{
    uint8_t first;
    if (dm_peek_u8(*src, end, &first) == DM_OK && first == 0x80)
        return DM_ERR_BER_INDEFINITE;
    return dm_axdr_read_length(src, end, length);
}

int dm_ber_walk(const uint8_t *in, size_t in_len, size_t offset, size_t end, int max_depth,
                int flags, dm_ber_node *nodes, size_t node_cap, dm_ber_result *res)
{
    /* ends[d]: where the content holding the nodes of depth d stops */
    size_t ends[DM_BER_DEPTH_LIMIT + 2];
    size_t pos = offset, count = 0;
    size_t depth = 0;
    const int flat = (flags & DM_BER_FLAT) != 0;
    const int one = (flags & DM_BER_ONE) != 0;

    res->count = 0;
    res->end = offset;
    res->err_offset = offset;
    /* in_len / 2 > 0x7FFFFFFF: offsets must fit the uint32 node fields (written
     * so that 32-bit size_t does not make it a tautology) */
    if (offset > end || end > in_len || in_len / 2 > 0x7FFFFFFFu || max_depth < 0 ||
        max_depth > DM_BER_DEPTH_LIMIT)
        return DM_ERR_BAD_ARGUMENT;
    if (one && offset == end)
        FAIL(DM_ERR_TRUNCATED, offset);
    ends[0] = end;

    for (;;) {
        while (depth > 0 && pos == ends[depth])
            depth--;
        if (depth == 0 && (pos == end || (one && count > 0)))
            break;
        const size_t stop = ends[depth];
        const size_t head = pos;
        if (depth > (size_t)max_depth)
            FAIL(DM_ERR_TOO_DEEP, head);

        /* the TLV is read inside the content holding it */
        const uint8_t *p = in + pos, *const lim = in + stop;
        uint8_t id;
        if (dm_read_u8(&p, lim, &id) != DM_OK)
            FAIL(DM_ERR_TRUNCATED, head);
        uint32_t number = id & 0x1Fu;
        if (number == 0x1F) {
            number = 0;
            for (int k = 0;; k++) {
                if (k == 4)
                    FAIL(DM_ERR_BER_TAG, head);
                uint8_t b;
                if (dm_read_u8(&p, lim, &b) != DM_OK)
                    FAIL(DM_ERR_TRUNCATED, (size_t)(p - in));
                number = (number << 7) | (b & 0x7Fu);
                if (b < 0x80)
                    break;
            }
        }

        uint32_t length;
        const int rc = ber_read_length(&p, lim, &length);
        if (rc != DM_OK)
            FAIL(rc, (size_t)(p - in));
        if (!dm_has(p, lim, length))
            FAIL(DM_ERR_TRUNCATED, (size_t)(p - in));
        pos = (size_t)(p - in);

        if (count < node_cap) {
            dm_ber_node *node = &nodes[count];
            node->cls = id & 0xC0u;
            node->constructed = (id & 0x20u) ? 1 : 0;
            node->number = number;
            node->header = (uint32_t)head;
            node->content = (uint32_t)pos;
            node->length = length;
            node->depth = (uint32_t)depth;
        }
        count++;

        if ((id & 0x20u) && !flat) {
            /* depth <= max_depth <= DM_BER_DEPTH_LIMIT, so this stays inside ends[] */
            depth++;
            ends[depth] = pos + length;
        } else {
            pos += length;
        }
    }

    res->count = count;
    res->end = pos;
    return count > node_cap ? DM_ERR_NO_SPACE : DM_OK;
}

int dm_ber_header(uint8_t ident, uint32_t number, uint32_t length, uint8_t *out, size_t out_cap)
{
    uint8_t buf[10];
    size_t n = 0;

    if ((ident & 0x1Fu) || number >= (1u << 28))
        return DM_ERR_BAD_ARGUMENT;
    if (number < 0x1F) {
        buf[n++] = (uint8_t)(ident | number);
    } else {
        buf[n++] = (uint8_t)(ident | 0x1Fu);
        int groups = 1;
        while (groups < 4 && (number >> (7 * groups)))
            groups++;
        for (int g = groups - 1; g >= 0; g--)
            buf[n++] = (uint8_t)(((number >> (7 * g)) & 0x7Fu) | (g ? 0x80u : 0));
    }
    /* the shortest definite form is the shortest A-XDR length form */
    n += dm_axdr_put_length(buf + n, length);
    if (n > out_cap)
        return DM_ERR_NO_SPACE;
    for (size_t i = 0; i < n; i++)
        out[i] = buf[i];
    return (int)n;
}
