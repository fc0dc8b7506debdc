/* DLMS/COSEM wrapper (IEC 62056-4-7): the 8-byte header in front of every
 * APDU carried over UDP. */
#include "bytes.h"
#include "dlmsmesh.h"

int dm_wrapper_decode(const uint8_t *in, size_t in_len, dm_wrapper *out, size_t *err_offset)
{
    const uint8_t *p = in, *end = in + in_len, *header;
    if (dm_read_bytes(&p, end, DM_WRAPPER_HEADER, &header) != DM_OK) {
        *err_offset = 0;
        return DM_ERR_TRUNCATED;
    }
    out->version = dm_be16(header);
    out->source_wport = dm_be16(header + 2);
    out->destination_wport = dm_be16(header + 4);
    out->length = dm_be16(header + 6);
    if (out->version != 1) {
        *err_offset = 0;
        return DM_ERR_WRAPPER_VERSION;
    }
    /* over UDP one datagram carries exactly one WPDU */
    if ((size_t)out->length != dm_left(p, end)) {
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
    if (out_cap < DM_WRAPPER_HEADER)
        return DM_ERR_NO_SPACE;
    dm_put_be16(out, 1);
    dm_put_be16(out + 2, source_wport);
    dm_put_be16(out + 4, destination_wport);
    dm_put_be16(out + 6, (uint16_t)apdu_len);
    return DM_WRAPPER_HEADER;
}
