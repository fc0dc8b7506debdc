/* DLMS/COSEM wrapper (IEC 62056-4-7): the 8-byte header in front of every
 * APDU carried over UDP (spec/transport.md section 2). */
#include "dlmsmesh.h"

#define WRAPPER_HEADER 8

static uint16_t be16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }

int dm_wrapper_decode(const uint8_t *in, size_t in_len, dm_wrapper *out, size_t *err_offset)
{
    if (in_len < WRAPPER_HEADER) {
        *err_offset = 0;
        return DM_ERR_TRUNCATED;
    }
    out->version = be16(in);
    out->source_wport = be16(in + 2);
    out->destination_wport = be16(in + 4);
    out->length = be16(in + 6);
    if (out->version != 1) {
        *err_offset = 0;
        return DM_ERR_WRAPPER_VERSION;
    }
    /* over UDP one datagram carries exactly one WPDU */
    if ((size_t)out->length != in_len - WRAPPER_HEADER) {
        *err_offset = 6;
        return DM_ERR_WRAPPER_LENGTH;
    }
    return DM_OK;
}

int dm_wrapper_encode(uint16_t source_wport, uint16_t destination_wport, size_t apdu_len, uint8_t *out,
                      size_t out_cap)
{
    if (apdu_len > 0xFFFF)
        return DM_ERR_BAD_ARGUMENT;
    if (out_cap < WRAPPER_HEADER)
        return DM_ERR_NO_SPACE;
    out[0] = 0;
    out[1] = 1;
    out[2] = (uint8_t)(source_wport >> 8);
    out[3] = (uint8_t)source_wport;
    out[4] = (uint8_t)(destination_wport >> 8);
    out[5] = (uint8_t)destination_wport;
    out[6] = (uint8_t)(apdu_len >> 8);
    out[7] = (uint8_t)apdu_len;
    return WRAPPER_HEADER;
}
