/* libFuzzer harness: DLMS/COSEM wrapper (csrc/wrapper.c) and the UDP
 * checksum (csrc/checksum.c).
 *
 * Input: one UDP payload (wrapper header + APDU).
 * Checks: a decoded header re-encodes to the same 8 bytes; errors are the
 * documented ones at the documented offsets; the checksum of the input as a
 * UDP segment is in 1..0xFFFF and stays the same when the checksum field
 * holds it (the field counts as zero), and an RFC 1071 recomputation agrees.
 */
#include "fuzz_common.h"

static uint16_t rfc1071(const uint8_t *src, const uint8_t *dst, const uint8_t *udp, size_t n)
{
    uint32_t sum = 0;
    for (int i = 0; i < 16; i += 2)
        sum += (uint32_t)(src[i] << 8 | src[i + 1]) + (uint32_t)(dst[i] << 8 | dst[i + 1]);
    sum += (uint32_t)(n >> 16) + (uint32_t)(n & 0xFFFF) + 17;
    for (size_t i = 0; i < n; i += 2) {
        if (i == 6)
            continue;
        uint32_t w = (uint32_t)udp[i] << 8 | (i + 1 < n ? udp[i + 1] : 0);
        sum += w;
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    while (sum >> 16)
        sum = (sum & 0xFFFF) + (sum >> 16);
    uint16_t c = (uint16_t)~sum;
    return c ? c : 0xFFFF;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *in = fz_dup(data, size);
    dm_wrapper w;
    size_t err = 12345;
    int rc = dm_wrapper_decode(in, size, &w, &err);
    if (size < 8) {
        CHECK(rc == DM_ERR_TRUNCATED && err == 0);
    } else if ((in[0] << 8 | in[1]) != 1) {
        CHECK(rc == DM_ERR_WRAPPER_VERSION && err == 0);
    } else if ((size_t)(in[6] << 8 | in[7]) != size - 8) {
        CHECK(rc == DM_ERR_WRAPPER_LENGTH && err == 6);
    } else {
        CHECK(rc == DM_OK);
        uint8_t hdr[8];
        CHECK(dm_wrapper_encode(w.source_wport, w.destination_wport, w.length, hdr, 8) == 8);
        CHECK(memcmp(hdr, in, 8) == 0);
        CHECK(dm_wrapper_encode(w.source_wport, w.destination_wport, w.length, hdr, 7) == DM_ERR_NO_SPACE);
    }
    CHECK(dm_wrapper_encode(1, 2, 65536, NULL, 0) == DM_ERR_BAD_ARGUMENT);

    /* the same bytes as a UDP segment between two fixed addresses */
    static const uint8_t src[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0x02, 0x12, 0x4b, 0, 0, 1, 2, 3};
    static const uint8_t dst[16] = {0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10};
    int32_t c = dm_udp_checksum(src, dst, in, size);
    if (size < 8) {
        CHECK(c == DM_ERR_TRUNCATED);
    } else {
        CHECK(c >= 1 && c <= 0xFFFF);
        CHECK(c == rfc1071(src, dst, in, size));
        in[6] = (uint8_t)(c >> 8);
        in[7] = (uint8_t)c;
        CHECK(dm_udp_checksum(src, dst, in, size) == c);
    }
    free(in);
    return 0;
}
