/* Internal: the ones'-complement sums behind dm_udp_checksum, shared with the
 * IPHC decompressor (which recomputes elided checksums). */
#ifndef DM_CHECKSUM_H
#define DM_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

/* Add the big-endian 16-bit words of p[0, n) to sum (n even, or the last
 * byte padded with zero); the caller folds. */
uint64_t dm_sum16(uint64_t sum, const uint8_t *p, size_t n);

/* The finished checksum of pseudo-header(src, dst, udp_len, 17) plus a
 * partial sum of the segment words. */
uint16_t dm_udp_checksum_finish(const uint8_t *src, const uint8_t *dst, uint32_t udp_len, uint64_t sum);

#endif
