/* Internal to the C core: the one checked byte reader, the one A-XDR length
 * codec, and the header sizes every layer agrees on.
 *
 * Readers take (const uint8_t **src, const uint8_t *end): they check that the
 * bytes are there before touching them, advance *src only on success, and on
 * failure leave *src at the item that failed, so the caller reports
 * *src - start as the failing offset.  dm_cur bundles the three pointers for
 * parsers that carry them around.  A reader never forms a pointer past end.
 */
#ifndef DLMSMESH_BYTES_H
#define DLMSMESH_BYTES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dlmsmesh.h"

/* header sizes */
#define DM_WRAPPER_HEADER 8 /* version, source wPort, destination wPort, length */
#define DM_IPV6_HEADER 40
#define DM_UDP_HEADER 8
#define DM_IPV6_NH_UDP 17 /* the IPv6 next header of UDP */
#define DM_IPV6_ADDRESS 16
#define DM_SYSTEM_TITLE 8
#define DM_AXDR_LENGTH_MAX 5 /* 0x84 + four length octets */

typedef struct {
    const uint8_t *start; /* offsets are counted from here */
    const uint8_t *p;     /* the next byte to read */
    const uint8_t *end;   /* one past the last byte this reader may read */
} dm_cur;

/* A reader over buf[pos, end) reporting offsets from buf (pos <= end). */
static inline dm_cur dm_cur_at(const uint8_t *buf, size_t pos, size_t end)
{
    dm_cur c = {buf, buf + pos, buf + end};
    return c;
}

static inline size_t dm_cur_offset(const dm_cur *c) { return (size_t)(c->p - c->start); }
static inline size_t dm_cur_left(const dm_cur *c) { return (size_t)(c->end - c->p); }

/* ---- reads: (src, end) form ---------------------------------------------- */

static inline size_t dm_left(const uint8_t *src, const uint8_t *end) { return (size_t)(end - src); }
static inline int dm_has(const uint8_t *src, const uint8_t *end, size_t n) { return n <= dm_left(src, end); }

static inline uint16_t dm_be16(const uint8_t *p) { return (uint16_t)((unsigned)p[0] << 8 | p[1]); }
static inline uint32_t dm_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* n (0..8) big-endian octets at p; the caller has checked they are there */
static inline uint64_t dm_be(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

DM_MUST_CHECK static inline int dm_peek_u8(const uint8_t *src, const uint8_t *end, uint8_t *v)
{
    if (src >= end)
        return DM_ERR_TRUNCATED;
    *v = *src;
    return DM_OK;
}

DM_MUST_CHECK static inline int dm_read_u8(const uint8_t **src, const uint8_t *end, uint8_t *v)
{
    if (*src >= end)
        return DM_ERR_TRUNCATED;
    *v = *(*src)++;
    return DM_OK;
}

DM_MUST_CHECK static inline int dm_read_be16(const uint8_t **src, const uint8_t *end, uint16_t *v)
{
    if (!dm_has(*src, end, 2))
        return DM_ERR_TRUNCATED;
    *v = dm_be16(*src);
    *src += 2;
    return DM_OK;
}

DM_MUST_CHECK static inline int dm_read_be32(const uint8_t **src, const uint8_t *end, uint32_t *v)
{
    if (!dm_has(*src, end, 4))
        return DM_ERR_TRUNCATED;
    *v = dm_be32(*src);
    *src += 4;
    return DM_OK;
}

/* n (0..8) big-endian octets */
DM_MUST_CHECK static inline int dm_read_be(const uint8_t **src, const uint8_t *end, size_t n, uint64_t *v)
{
    if (!dm_has(*src, end, n))
        return DM_ERR_TRUNCATED;
    *v = dm_be(*src, n);
    *src += n;
    return DM_OK;
}

/* n bytes in place: *bytes points at them */
DM_MUST_CHECK static inline int dm_read_bytes(const uint8_t **src, const uint8_t *end, size_t n,
                                              const uint8_t **bytes)
{
    if (!dm_has(*src, end, n))
        return DM_ERR_TRUNCATED;
    *bytes = *src;
    *src += n;
    return DM_OK;
}

DM_MUST_CHECK static inline int dm_skip(const uint8_t **src, const uint8_t *end, size_t n)
{
    if (!dm_has(*src, end, n))
        return DM_ERR_TRUNCATED;
    *src += n;
    return DM_OK;
}

/* ---- the A-XDR length ------------------------------------------------------
 * One octet 0..0x7F, or 0x8n followed by n = 1..4 big-endian octets (any
 * value: a longer form than needed is accepted).  On failure *src stays at
 * the length's first octet, the offset every decoder reports:
 * DM_ERR_TRUNCATED when the octets are not all there, DM_ERR_BAD_LENGTH for
 * 0x80 and 0x85..0xFF. */
DM_MUST_CHECK static inline int dm_axdr_read_length(const uint8_t **src, const uint8_t *end, uint32_t *v)
{
    const uint8_t *p = *src;
    if (p >= end)
        return DM_ERR_TRUNCATED;
    const uint8_t b = *p;
    if (b < 0x80) {
        *v = b;
        *src = p + 1;
        return DM_OK;
    }
    const size_t n = b & 0x7Fu;
    if (n == 0 || n > 4)
        return DM_ERR_BAD_LENGTH;
    if (n > dm_left(p, end) - 1)
        return DM_ERR_TRUNCATED;
    *v = (uint32_t)dm_be(p + 1, n);
    *src = p + 1 + n;
    return DM_OK;
}

/* Octets of the shortest A-XDR length form of n (n < 2^32). */
static inline size_t dm_axdr_length_size(uint64_t n)
{
    return n < 0x80 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : n < 0x1000000 ? 4 : 5;
}

/* Write the shortest A-XDR length form of n (n < 2^32) at out, which has
 * room for dm_axdr_length_size(n) octets; returns that size. */
static inline size_t dm_axdr_put_length(uint8_t *out, uint64_t n)
{
    const size_t s = dm_axdr_length_size(n);
    if (s == 1) {
        out[0] = (uint8_t)n;
        return 1;
    }
    out[0] = (uint8_t)(0x80 | (s - 1));
    for (size_t i = 1; i < s; i++)
        out[i] = (uint8_t)(n >> (8 * (s - 1 - i)));
    return s;
}

/* ---- writes ---------------------------------------------------------------- */

static inline void dm_put_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void dm_put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* the low n (0..8) octets of v, big-endian */
static inline void dm_put_be(uint8_t *p, uint64_t v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

#endif
