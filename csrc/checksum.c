/* UDP checksum over the IPv6 pseudo-header (RFC 8200 section 8.1, RFC 768). */
#include "checksum.h"

#include "bytes.h"
#include "dlmsmesh.h"

uint64_t dm_sum16(uint64_t sum, const uint8_t *p, size_t n)
{
    size_t i = 0;
    /* 64-bit accumulator: no carry is lost before the fold for any n < 2^48 */
    for (; i + 8 <= n; i += 8)
        sum += (uint64_t)((p[i] << 8) | p[i + 1]) + (uint64_t)((p[i + 2] << 8) | p[i + 3]) +
               (uint64_t)((p[i + 4] << 8) | p[i + 5]) + (uint64_t)((p[i + 6] << 8) | p[i + 7]);
    for (; i + 2 <= n; i += 2)
        sum += (uint64_t)((p[i] << 8) | p[i + 1]);
    if (i < n)
        sum += (uint64_t)p[i] << 8;
    return sum;
}

uint16_t dm_udp_checksum_finish(const uint8_t *src, const uint8_t *dst, uint32_t udp_len, uint64_t sum)
{
    sum = dm_sum16(sum, src, DM_IPV6_ADDRESS);
    sum = dm_sum16(sum, dst, DM_IPV6_ADDRESS);
    sum += (udp_len >> 16) + (udp_len & 0xFFFF) + DM_IPV6_NH_UDP;
    while (sum >> 16)
        sum = (sum & 0xFFFF) + (sum >> 16);
    uint16_t c = (uint16_t)~sum;
    return c ? c : 0xFFFF;
}

int32_t dm_udp_checksum(const uint8_t *src, const uint8_t *dst, const uint8_t *udp, size_t udp_len)
{
    if (udp_len < DM_UDP_HEADER)
        return DM_ERR_TRUNCATED;
    if (udp_len > 0xFFFFFFFFu)
        return DM_ERR_BAD_ARGUMENT;
    /* the checksum field (bytes 6-7) counts as zero */
    uint64_t sum = dm_sum16(0, udp, 6);
    sum = dm_sum16(sum, udp + DM_UDP_HEADER, udp_len - DM_UDP_HEADER);
    return dm_udp_checksum_finish(src, dst, (uint32_t)udp_len, sum);
}
