/* Typed column buffers -> an A-XDR array of uniform rows, in one pass.
 *
 * The exact size is computed first, so nothing is written unless it all
 * fits; DM_ERR_NO_SPACE reports the size needed.  Shortest length forms.
 */
#include <string.h>

#include "columns.h"
#include "dlmsmesh.h"

static int64_t fail(dm_columns_result *res, int code, size_t row, size_t field)
{
    res->err_row = (int64_t)row;
    res->err_field = (int32_t)field;
    return code;
}

static int present(const dm_colspec *col, size_t r)
{
    return !col->nullable || col->valid[r];
}

/* The 12 date-time octets of an epoch; DM_ERR_COL_VALUE when its local time
 * falls outside the years 0..65534. */
static int put_datetime(uint8_t *p, int64_t epoch, int16_t deviation, uint8_t status, int64_t unit, int flags)
{
    if (epoch == DM_COL_NAT) {
        memset(p, 0xFF, 9);
    } else {
        if (epoch < -(INT64_C(1) << 61) || epoch > (INT64_C(1) << 61))
            return DM_ERR_COL_VALUE;
        int64_t local = epoch;
        if (deviation != DM_DEVIATION_NOT_SPECIFIED)
            local -= (flags & DM_COLUMNS_REVERSED_SIGN ? -60 : 60) * (int64_t)deviation * unit;
        int64_t secs = col_floor_div(local, unit);
        int64_t hundredths = (local - secs * unit) * 100 / unit;
        int64_t days = col_floor_div(secs, 86400);
        int64_t sod = secs - days * 86400;
        int64_t year;
        int month, day;
        col_civil_from_days(days, &year, &month, &day);
        if (year < 0 || year > 0xFFFE)
            return DM_ERR_COL_VALUE;
        dm_put_be(p, (uint64_t)year, 2);
        p[2] = (uint8_t)month;
        p[3] = (uint8_t)day;
        p[4] = (uint8_t)((days % 7 + 10) % 7 + 1); /* 1970-01-01 was a Thursday (4) */
        p[5] = (uint8_t)(sod / 3600);
        p[6] = (uint8_t)(sod / 60 % 60);
        p[7] = (uint8_t)(sod % 60);
        p[8] = (uint8_t)hundredths;
    }
    dm_put_be(p + 9, (uint16_t)deviation, 2);
    p[11] = status;
    return DM_OK;
}

static int check_layout(const dm_colspec *cols, size_t ncols, size_t rows, int64_t unit, int flags)
{
    if (ncols == 0 || (flags & DM_COLUMNS_BARE && ncols != 1))
        return DM_ERR_BAD_ARGUMENT;
    if (unit != 1 && unit != 1000 && unit != 1000000)
        return DM_ERR_BAD_ARGUMENT;
    for (size_t k = 0; k < ncols && rows; k++) {
        const dm_colspec *col = &cols[k];
        if (col_number_size(col->kind) < 0 || !col->values || (col->nullable && !col->valid))
            return DM_ERR_BAD_ARGUMENT;
        if (col->kind == DM_COL_DATETIME && (!col->deviation || !col->status))
            return DM_ERR_BAD_ARGUMENT;
        if ((col->kind == DM_COL_OCTETS || col->kind == DM_COL_FIXED_OCTETS) && !col->offsets)
            return DM_ERR_BAD_ARGUMENT;
    }
    return DM_OK;
}

/* Bytes of column k over all rows; DM_ERR_COL_VALUE for offsets that leave
 * the data or a fixed-width value of another width. */
static int64_t column_size(const dm_colspec *col, size_t k, size_t rows, dm_columns_result *res)
{
    int size = col_number_size(col->kind);
    uint64_t need = 0;
    for (size_t r = 0; r < rows; r++) {
        need += 1;
        if (!present(col, r))
            continue;
        if (size > 0) {
            need += (uint64_t)size;
        } else if (col->kind == DM_COL_DATETIME) {
            need += col->tag == 9 ? 13 : 12;
        } else {
            int64_t a = col->offsets[r], b = col->offsets[r + 1];
            if (a < 0 || b < a || (uint64_t)b > col->capacity)
                return fail(res, DM_ERR_COL_VALUE, r, k);
            uint64_t n = (uint64_t)(b - a);
            if (col->kind == DM_COL_FIXED_OCTETS) {
                if (n != col->width)
                    return fail(res, DM_ERR_COL_VALUE, r, k);
            } else {
                if (n > UINT32_MAX)
                    return fail(res, DM_ERR_COL_VALUE, r, k);
                need += dm_axdr_length_size(n);
            }
            need += n;
        }
    }
    return (int64_t)need;
}

int64_t dm_columns_encode(const dm_colspec *cols, size_t ncols, size_t rows, int64_t unit, int flags,
                          uint8_t *out, size_t out_cap, dm_columns_result *res)
{
    res->end = 0;
    res->err_offset = 0;
    res->err_row = -1;
    res->err_field = -1;
    res->err_found = -1;
    if (!cols)
        return DM_ERR_BAD_ARGUMENT;
    int rc = check_layout(cols, ncols, rows, unit, flags);
    if (rc < 0)
        return rc;
    int bare = flags & DM_COLUMNS_BARE;
    uint64_t need = 1 + dm_axdr_length_size(rows);
    if (!bare)
        need += (uint64_t)rows * (1 + dm_axdr_length_size(ncols));
    for (size_t k = 0; k < ncols; k++) {
        int64_t n = column_size(&cols[k], k, rows, res);
        if (n < 0)
            return n;
        need += (uint64_t)n;
    }
    res->end = need;
    if (need > out_cap || !out)
        return DM_ERR_NO_SPACE;

    uint8_t *p = out;
    *p++ = 1;
    p += dm_axdr_put_length(p, rows);
    for (size_t r = 0; r < rows; r++) {
        if (!bare) {
            *p++ = 2;
            p += dm_axdr_put_length(p, ncols);
        }
        for (size_t k = 0; k < ncols; k++) {
            const dm_colspec *col = &cols[k];
            if (!present(col, r)) {
                *p++ = 0;
                continue;
            }
            *p++ = col->tag;
            switch (col->kind) {
            case DM_COL_DATETIME:
                if (col->tag == 9)
                    *p++ = 12;
                if (put_datetime(p, ((const int64_t *)col->values)[r], col->deviation[r], col->status[r], unit,
                                 flags) < 0)
                    return fail(res, DM_ERR_COL_VALUE, r, k);
                p += 12;
                break;
            case DM_COL_FIXED_OCTETS: case DM_COL_OCTETS: {
                size_t a = (size_t)col->offsets[r], n = (size_t)col->offsets[r + 1] - a;
                if (col->kind == DM_COL_OCTETS)
                    p += dm_axdr_put_length(p, n);
                memcpy(p, (const uint8_t *)col->values + a, n);
                p += n;
                break;
            }
            default:
                p += col_put_number(p, col->kind, col->values, r);
                break;
            }
        }
    }
    return (int64_t)(p - out);
}
