/* What IPHC compression and decompression share (RFC 6282; see iphc.h). */
#include "iphc.h"

const uint8_t dm_iphc_link_local[8] = {0xfe, 0x80, 0, 0, 0, 0, 0, 0};
const uint8_t dm_iphc_short_iid[6] = {0, 0, 0, 0xff, 0xfe, 0};

int dm_iphc_check_batch(const uint32_t *in_end, size_t n, size_t ll_count)
{
    if (ll_count > 1 && ll_count != n)
        return DM_ERR_BAD_ARGUMENT;
    for (size_t i = 0; i < n; i++)
        if (in_end[i] < dm_iphc_item_start(in_end, i))
            return DM_ERR_BAD_ARGUMENT;
    return DM_OK;
}
