/* Compiled by `make -C tests/c must-check`, which passes only when the
 * compiler refuses this file as written (a status ignored: DM_MUST_CHECK in
 * effect) and accepts it with -DCHECKED (so nothing else is wrong with it). */
#include <stdint.h>

#include "dlmsmesh.h"

int main(void)
{
    uint32_t v[2] = {1, 2};
#ifdef CHECKED
    return dm_ends_from_lengths(v, 2) == DM_OK ? 0 : 1;
#else
    dm_ends_from_lengths(v, 2);
    return 0;
#endif
}
