/* End offsets of items laid back to back, from their lengths. */
#include "dlmsmesh.h"

int dm_ends_from_lengths(uint32_t *v, size_t n)
{
    uint64_t total = 0;
    size_t i;
    for (i = 0; i < n; i++) {
        total += v[i];
        if (total > UINT32_MAX)
            return DM_ERR_BAD_ARGUMENT;
    }
    total = 0;
    for (i = 0; i < n; i++) {
        total += v[i];
        v[i] = (uint32_t)total;
    }
    return DM_OK;
}
