/* Internal: the one-datagram IPHC compressor, shared with the fragmenter. */
#ifndef DM_IPHC_H
#define DM_IPHC_H

#include <stddef.h>
#include <stdint.h>

#include "dlmsmesh.h"

/* The longest compressed IPv6 + NHC-UDP header: 2 base + CID + 4 TF + NH +
 * HLIM + 16 + 16 addresses, or 2 + 1 + 4 + 1 + 16 + 16 + 7 NHC-UDP. */
#define DM_IPHC_MAX_HEADER 48

/* Compress the headers of the datagram in[0, in_len) into hdr (at least
 * DM_IPHC_MAX_HEADER bytes).  Returns the compressed header length and sets
 * *consumed to the uncompressed header bytes it stands for (40, or 48 with
 * NHC-UDP); on a bad datagram returns a negative DM_ERR_* with *err_offset. */
DM_MUST_CHECK int dm_iphc_compress_header(const uint8_t *in, size_t in_len, const dm_ll_pair *ll, const dm_lowpan_context *ctx,
                                          int flags, uint8_t *hdr, size_t *consumed, uint32_t *info, size_t *err_offset);

#endif
