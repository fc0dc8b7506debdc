/* A-XDR encoder for uniform rows: the bulk of a profile-generic buffer.
 *
 * The Python side checks that every row of an array has the same shape and
 * hands the values over column by column in host-order C arrays; this writes
 * the tagged, big-endian A-XDR of every row in one pass.
 */
#include <string.h>

#include "dlmsmesh.h"

static void put_be(uint8_t *p, uint64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

static size_t length_size(uint32_t n)
{
    return n < 0x80 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : n < 0x1000000 ? 4 : 5;
}

static size_t put_length(uint8_t *p, uint32_t n)
{
    size_t s = length_size(n);
    if (s == 1) {
        p[0] = (uint8_t)n;
    } else {
        p[0] = (uint8_t)(0x80 | (s - 1));
        put_be(p + 1, n, (int)(s - 1));
    }
    return s;
}

static int content_size(const dm_column *c)
{
    switch (c->kind) {
    case DM_COL_U8: case DM_COL_I8: case DM_COL_BOOL: return 1;
    case DM_COL_U16: case DM_COL_I16: return 2;
    case DM_COL_U32: case DM_COL_I32: case DM_COL_F32: return 4;
    case DM_COL_U64: case DM_COL_I64: case DM_COL_F64: return 8;
    case DM_COL_FIXED_OCTETS: return (int)c->width;
    case DM_COL_OCTETS: return 0;
    default: return -1;
    }
}

int64_t dm_axdr_pack_rows(const dm_column *cols, size_t ncols, size_t rows, uint8_t row_tag,
                          uint8_t *out, size_t out_cap)
{
    if (ncols == 0 || (row_tag && ncols > 127))
        return DM_ERR_BAD_ARGUMENT;
    /* exact size first: nothing is written unless it all fits */
    uint64_t need = row_tag ? 2u * (uint64_t)rows : 0;
    size_t var_offset[64];
    if (ncols > 64)
        return DM_ERR_BAD_ARGUMENT;
    for (size_t k = 0; k < ncols; k++) {
        int s = content_size(&cols[k]);
        if (s < 0)
            return DM_ERR_BAD_ARGUMENT;
        need += (uint64_t)rows * (1u + (uint64_t)s);
        var_offset[k] = 0;
        if (cols[k].kind == DM_COL_OCTETS)
            for (size_t r = 0; r < rows; r++)
                need += length_size(cols[k].lengths[r]) + (uint64_t)cols[k].lengths[r];
    }
    if (need > out_cap)
        return DM_ERR_NO_SPACE;
    uint8_t *p = out;
    for (size_t r = 0; r < rows; r++) {
        if (row_tag) {
            *p++ = row_tag;
            *p++ = (uint8_t)ncols;
        }
        for (size_t k = 0; k < ncols; k++) {
            const dm_column *c = &cols[k];
            *p++ = c->tag;
            switch (c->kind) {
            case DM_COL_U8: case DM_COL_I8:
                *p++ = ((const uint8_t *)c->values)[r];
                break;
            case DM_COL_BOOL:
                *p++ = ((const uint8_t *)c->values)[r] ? 1 : 0;
                break;
            case DM_COL_U16: case DM_COL_I16:
                put_be(p, ((const uint16_t *)c->values)[r], 2);
                p += 2;
                break;
            case DM_COL_U32: case DM_COL_I32:
                put_be(p, ((const uint32_t *)c->values)[r], 4);
                p += 4;
                break;
            case DM_COL_U64: case DM_COL_I64:
                put_be(p, ((const uint64_t *)c->values)[r], 8);
                p += 8;
                break;
            case DM_COL_F32: {
                float f = (float)((const double *)c->values)[r];
                uint32_t bits;
                memcpy(&bits, &f, 4);
                put_be(p, bits, 4);
                p += 4;
                break;
            }
            case DM_COL_F64: {
                uint64_t bits;
                memcpy(&bits, &((const double *)c->values)[r], 8);
                put_be(p, bits, 8);
                p += 8;
                break;
            }
            case DM_COL_FIXED_OCTETS:
                memcpy(p, (const uint8_t *)c->values + (size_t)c->width * r, c->width);
                p += c->width;
                break;
            default: { /* DM_COL_OCTETS */
                uint32_t n = c->lengths[r];
                p += put_length(p, n);
                memcpy(p, (const uint8_t *)c->values + var_offset[k], n);
                var_offset[k] += n;
                p += n;
                break;
            }
            }
        }
    }
    return (int64_t)(p - out);
}
