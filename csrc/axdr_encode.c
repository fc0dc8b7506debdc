/* A-XDR encoder for uniform rows: the bulk of a profile-generic buffer.
 *
 * The Python side checks that every row of an array has the same shape and
 * hands the values over column by column in host-order C arrays; this writes
 * the tagged, big-endian A-XDR of every row in one pass.  The contents of
 * each kind are written by the helpers the column codec shares (columns.h).
 */
#include <string.h>

#include "columns.h"
#include "dlmsmesh.h"

int64_t dm_axdr_pack_rows(const dm_column *cols, size_t ncols, size_t rows, uint8_t row_tag,
                          uint8_t *out, size_t out_cap)
{
    if (ncols == 0 || (row_tag && ncols > 127))
        return DM_ERR_BAD_ARGUMENT;
    /* exact size first: nothing is written unless it all fits */
    uint64_t need = row_tag ? 2u * (uint64_t)rows : 0;
    size_t var_offset[DM_PACK_MAX_COLUMNS];
    if (ncols > DM_PACK_MAX_COLUMNS)
        return DM_ERR_BAD_ARGUMENT;
    for (size_t k = 0; k < ncols; k++) {
        int s = cols[k].kind == DM_COL_FIXED_OCTETS ? (int)cols[k].width : col_number_size(cols[k].kind);
        if (s < 0 || cols[k].kind == DM_COL_DATETIME)
            return DM_ERR_BAD_ARGUMENT;
        need += (uint64_t)rows * (1u + (uint64_t)s);
        var_offset[k] = 0;
        if (cols[k].kind == DM_COL_OCTETS)
            for (size_t r = 0; r < rows; r++)
                need += dm_axdr_length_size(cols[k].lengths[r]) + (uint64_t)cols[k].lengths[r];
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
            case DM_COL_FIXED_OCTETS:
                memcpy(p, (const uint8_t *)c->values + (size_t)c->width * r, c->width);
                p += c->width;
                break;
            case DM_COL_OCTETS: {
                uint32_t n = c->lengths[r];
                p += dm_axdr_put_length(p, n);
                memcpy(p, (const uint8_t *)c->values + var_offset[k], n);
                var_offset[k] += n;
                p += n;
                break;
            }
            default:
                p += col_put_number(p, c->kind, c->values, r);
                break;
            }
        }
    }
    return (int64_t)(p - out);
}
