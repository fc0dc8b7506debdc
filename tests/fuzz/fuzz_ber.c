/* libFuzzer harness: BER TLV walk (csrc/ber.c, dm_ber_walk) and the header
 * writer dm_ber_header.
 *
 * Input: the bytes of an ACSE APDU (AARQ/AARE/RLRQ/RLRE) or any BER.
 * Checks: every node lies inside its parent and the walked range; the
 * count reported with a too small node array is the count of the full walk,
 * whose first nodes are the same; DM_BER_ONE stops after the first TLV and
 * DM_BER_FLAT lists exactly the depth-0 nodes; a smaller depth limit gives
 * the same nodes or DM_ERR_TOO_DEEP; dm_ber_header re-encodes each node's
 * identifier and length in the shortest form, which walks back to the same
 * class, number and length.
 */
#include "fuzz_common.h"

static int known_status(int rc)
{
    return rc == DM_OK || rc == DM_ERR_TRUNCATED || rc == DM_ERR_BAD_LENGTH || rc == DM_ERR_TOO_DEEP ||
           rc == DM_ERR_BER_TAG || rc == DM_ERR_BER_INDEFINITE || rc == DM_ERR_NO_SPACE;
}

static int walk(const uint8_t *in, size_t size, int depth, int flags, dm_ber_node **nodes, dm_ber_result *res)
{
    size_t cap = size + 1;
    *nodes = fz_alloc(cap * sizeof(dm_ber_node));
    int rc = dm_ber_walk(in, size, 0, size, depth, flags, *nodes, cap, res);
    CHECK(rc != DM_ERR_NO_SPACE); /* a TLV takes at least two bytes: size + 1 nodes always fit */
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *in = fz_dup(data, size);
    dm_ber_node *nodes, *other;
    dm_ber_result res, ores;

    int rc = walk(in, size, DM_BER_DEPTH_LIMIT, 0, &nodes, &res);
    CHECK(known_status(rc));
    if (rc == DM_OK) {
        CHECK(res.end == size);
        size_t ends[DM_BER_DEPTH_LIMIT + 2];
        ends[0] = size;
        size_t depth0 = 0;
        for (size_t i = 0; i < res.count; i++) {
            const dm_ber_node *n = &nodes[i];
            CHECK(n->depth <= DM_BER_DEPTH_LIMIT);
            CHECK(n->header < n->content && (size_t)n->content + n->length <= ends[n->depth]);
            CHECK(n->cls == (in[n->header] & 0xC0u) && n->constructed == ((in[n->header] >> 5) & 1u));
            if (i > 0)
                CHECK(n->header >= nodes[i - 1].content);
            if (n->constructed)
                ends[n->depth + 1] = (size_t)n->content + n->length;
            if (n->depth == 0)
                depth0++;
            if (i + 1 < res.count && nodes[i + 1].depth > n->depth)
                CHECK(nodes[i + 1].depth == n->depth + 1 && n->constructed);

            /* the shortest header of the same TLV walks back to the same fields */
            uint8_t hdr[10];
            int h = dm_ber_header((uint8_t)(n->cls | (n->constructed ? 0x20u : 0)), n->number, n->length, hdr,
                                  sizeof hdr);
            if (n->number >= (1u << 28)) {
                CHECK(h == DM_ERR_BAD_ARGUMENT);
                continue;
            }
            CHECK(h > 0 && h <= 10 && (size_t)h <= n->content - n->header);
            CHECK(dm_ber_header(0, n->number, n->length, hdr, (size_t)h - 1) == DM_ERR_NO_SPACE);
            h = dm_ber_header((uint8_t)(n->cls | (n->constructed ? 0x20u : 0)), n->number, n->length, hdr,
                              sizeof hdr);
            /* walk the header alone with a fake content of n->length bytes: only the header is read */
            uint8_t *tlv = fz_alloc((size_t)h + n->length);
            memcpy(tlv, hdr, (size_t)h);
            memcpy(tlv + h, in + n->content, n->length);
            dm_ber_node back;
            dm_ber_result bres;
            int brc = dm_ber_walk(tlv, (size_t)h + n->length, 0, (size_t)h + n->length, 0,
                                  DM_BER_ONE | DM_BER_FLAT, &back, 1, &bres);
            CHECK(brc == DM_OK && bres.count == 1);
            CHECK(back.cls == n->cls && back.constructed == n->constructed && back.number == n->number &&
                  back.length == n->length && back.content == (uint32_t)h);
            free(tlv);
        }

        /* flat: exactly the depth-0 nodes */
        int frc = walk(in, size, DM_BER_DEPTH_LIMIT, DM_BER_FLAT, &other, &ores);
        CHECK(frc == DM_OK && ores.count == depth0);
        for (size_t i = 0, j = 0; i < res.count; i++)
            if (nodes[i].depth == 0) {
                CHECK(memcmp(&nodes[i], &other[j], sizeof(dm_ber_node)) == 0);
                j++;
            }
        free(other);

        /* a node array one too small: the same count, the same first nodes */
        if (res.count > 0) {
            dm_ber_node *few = fz_alloc((res.count - 1) * sizeof(dm_ber_node));
            dm_ber_result sres;
            int src = dm_ber_walk(in, size, 0, size, DM_BER_DEPTH_LIMIT, 0, few, res.count - 1, &sres);
            CHECK(src == DM_ERR_NO_SPACE && sres.count == res.count);
            if (res.count > 1)
                CHECK(memcmp(few, nodes, (res.count - 1) * sizeof(dm_ber_node)) == 0);
            free(few);
        }

        /* a smaller depth limit */
        for (int depth = 0; depth <= 3; depth++) {
            int drc = walk(in, size, depth, 0, &other, &ores);
            CHECK(drc == DM_OK || drc == DM_ERR_TOO_DEEP);
            if (drc == DM_OK)
                CHECK(ores.count == res.count && memcmp(other, nodes, res.count * sizeof(dm_ber_node)) == 0);
            free(other);
        }
    } else {
        CHECK(res.err_offset <= size);
    }

    /* one: the first TLV alone, as the full walk saw it */
    int orc = walk(in, size, DM_BER_DEPTH_LIMIT, DM_BER_ONE, &other, &ores);
    CHECK(known_status(orc));
    if (orc == DM_OK) {
        CHECK(ores.count >= 1 && other[0].depth == 0);
        CHECK(ores.end == (size_t)other[0].content + other[0].length);
        if (rc == DM_OK)
            CHECK(memcmp(other, nodes, ores.count * sizeof(dm_ber_node)) == 0);
    }
    free(other);
    free(nodes);
    free(in);
    return 0;
}
