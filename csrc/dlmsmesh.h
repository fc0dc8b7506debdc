/* dlmsmesh C core: the public header, exactly what the cffi cdef declares.
 *
 * Plain C99, no Python.h, no global state. Every fallible function returns
 * DM_OK or a negative DM_ERR_* code and reports the failing byte offset.
 */
#ifndef DLMSMESH_H
#define DLMSMESH_H

#include <stddef.h>
#include <stdint.h>

/* A status a caller must look at (compile error under -Werror if ignored).
 * _build.py drops the macro from the cdef it hands cffi. */
#if defined(__GNUC__) || defined(__clang__)
#define DM_MUST_CHECK __attribute__((warn_unused_result))
#else
#define DM_MUST_CHECK
#endif

/* status codes (python/dlmsmesh/_status.py mirrors them) */
#define DM_OK 0
#define DM_ERR_TRUNCATED -1
#define DM_ERR_BAD_TAG -2
#define DM_ERR_BAD_LENGTH -3
#define DM_ERR_TOO_DEEP -4
#define DM_ERR_TOO_MANY -5
#define DM_ERR_TRAILING -6
#define DM_ERR_BAD_UTF8 -7
#define DM_ERR_BAD_DESCRIPTION -8
#define DM_ERR_COMPACT_OVERRUN -9
#define DM_ERR_ZERO_SIZE -10
#define DM_ERR_NO_SPACE -11
#define DM_ERR_BAD_ARGUMENT -12
/* xDLMS APDU layer */
#define DM_ERR_APDU_TAG -20
#define DM_ERR_APDU_CHOICE -21
#define DM_ERR_APDU_FLAG -22
#define DM_ERR_APDU_COUNT -24 /* with-list: value count differs from descriptor count */
/* BER (ACSE layer) */
#define DM_ERR_BER_TAG -30        /* tag number longer than 4 octets */
#define DM_ERR_BER_INDEFINITE -31 /* indefinite length (0x80) */

/* Batches of items back to back (csrc/offsets.c): turn the n item lengths
 * in v into end offsets in place (v[i] = v[0] + ... + v[i]).  Returns DM_OK,
 * or DM_ERR_BAD_ARGUMENT when a sum exceeds 2^32 - 1 (v is then unchanged). */
DM_MUST_CHECK int dm_ends_from_lengths(uint32_t *v, size_t n);

/* Memo slots of the loader that turns dm_axdr_decode output into Python
 * objects (python/dlmsmesh/_native/loader.py fills them in this order). */
#define DM_MEMO_DONT_CARE 0
#define DM_MEMO_MAKE_COMPACT 1
#define DM_MEMO_ARRAY_DESCRIPTION 2
#define DM_MEMO_STRUCTURE_DESCRIPTION 3
#define DM_MEMO_CLASS_BASE 4 /* + data tag 0..DM_MEMO_CLASS_LAST_TAG: the type's class */
#define DM_MEMO_CLASS_LAST_TAG 33 /* delta-double-long-unsigned */
#define DM_MEMO_CACHE_BASE 256 /* + 256 * cache + octet: shared 1-octet values */
#define DM_CACHE_UNSIGNED 0
#define DM_CACHE_INTEGER 1
#define DM_CACHE_ENUM 2
#define DM_CACHE_BCD 3

#define DM_DECODE_WHOLE 1 /* flag: bytes after the value are an error */

/* Limits, in one place (the Python defaults are checked against these by
 * tests/test_c_contract.py). */
#define DM_DEFAULT_MAX_DEPTH 64     /* A-XDR Data nesting: dm_axdr_decode callers, dm_apdu_decode */
#define DM_BER_DEFAULT_MAX_DEPTH 16 /* BER TLV nesting asked of dm_ber_walk by default */
#define DM_PACK_MAX_COLUMNS 64      /* columns dm_axdr_pack_rows packs in one call */
#define DM_FRAG_MAX_DATAGRAM 2047   /* the 11-bit datagram_size of RFC 4944 fragments */

typedef struct {
    size_t out_len;    /* bytes of loader program written */
    size_t end;        /* offset just after the decoded value */
    size_t err_offset; /* failing byte offset when the status is an error */
} dm_decode_result;

/* Decode one A-XDR Data value at in[offset] into a pickle (protocol 4)
 * program for the memo-primed loader.  DM_ERR_NO_SPACE asks for a larger
 * out buffer; nothing else depends on out_cap. */
DM_MUST_CHECK int dm_axdr_decode(const uint8_t *in, size_t in_len, size_t offset, int max_depth,
                                 int flags, uint8_t *out, size_t out_cap, dm_decode_result *res);

/* Column kinds for dm_axdr_pack_rows. */
#define DM_COL_U8 1  /* uint8 values, 1 content byte */
#define DM_COL_I8 2
#define DM_COL_U16 3 /* uint16 values */
#define DM_COL_I16 4
#define DM_COL_U32 5 /* uint32 values */
#define DM_COL_I32 6
#define DM_COL_U64 7 /* uint64 values */
#define DM_COL_I64 8
#define DM_COL_F32 9  /* float values (4 bytes) */
#define DM_COL_F64 10 /* double values */
#define DM_COL_BOOL 11 /* uint8 values, written as 00/01 */
#define DM_COL_FIXED_OCTETS 12 /* width bytes per row, no length (date-time...) */
#define DM_COL_OCTETS 13 /* variable: uint32 lengths + concatenated bytes, length-prefixed */

typedef struct {
    int kind;
    uint8_t tag;           /* the Data tag written before each value */
    uint32_t width;        /* FIXED_OCTETS: bytes per value */
    const void *values;    /* row-indexed values, or the concatenated bytes */
    const uint32_t *lengths; /* OCTETS: per-row byte counts */
} dm_column;

/* Write `rows` rows of `ncols` tagged values; with row_tag != 0 each row is
 * wrapped as `row_tag count` (a structure).  Returns bytes written, or
 * DM_ERR_NO_SPACE / DM_ERR_BAD_ARGUMENT. */
DM_MUST_CHECK int64_t dm_axdr_pack_rows(const dm_column *cols, size_t ncols, size_t rows, uint8_t row_tag,
                                        uint8_t *out, size_t out_cap);

/* BER TLV walker (csrc/ber.c).  Nodes come in tree pre-order; every field
 * is a uint32 so Python can read the array as one flat run. */
#define DM_BER_DEPTH_LIMIT 64 /* the largest max_depth dm_ber_walk accepts */
#define DM_BER_ONE 1          /* flag: stop after the first top-level TLV */
#define DM_BER_FLAT 2         /* flag: list the TLVs of the range, not their contents */

typedef struct {
    uint32_t cls;         /* identifier bits 8-7: 0x00, 0x40, 0x80 or 0xC0 */
    uint32_t constructed; /* 1 when identifier bit 6 is set */
    uint32_t number;      /* tag number */
    uint32_t header;      /* offset of the identifier octet */
    uint32_t content;     /* offset of the first content octet */
    uint32_t length;      /* content octets */
    uint32_t depth;       /* 0 for the TLVs of the walked range */
} dm_ber_node;

typedef struct {
    size_t count;      /* nodes in the tree, also when more than node_cap */
    size_t end;        /* offset after the last TLV walked */
    size_t err_offset; /* failing byte offset when the status is an error */
} dm_ber_result;

/* Walk the BER TLVs in in[offset, end): definite lengths only (short form and
 * 81..84), tag numbers up to 4 base-128 octets, node depth <= max_depth.  A
 * tree with more than node_cap nodes gives DM_ERR_NO_SPACE with res->count
 * the number needed (input errors take precedence). */
DM_MUST_CHECK int dm_ber_walk(const uint8_t *in, size_t in_len, size_t offset, size_t end, int max_depth,
                              int flags, dm_ber_node *nodes, size_t node_cap, dm_ber_result *res);

/* Identifier and shortest definite length of a TLV: returns the bytes written
 * (at most 10), DM_ERR_NO_SPACE, or DM_ERR_BAD_ARGUMENT (ident bits 5-1 set,
 * number >= 2^28). */
DM_MUST_CHECK int dm_ber_header(uint8_t ident, uint32_t number, uint32_t length, uint8_t *out, size_t out_cap);

/* xDLMS APDU hot path (csrc/apdu_decode.c): get-response-normal,
 * data-notification and general-block-transfer decode in one C call into a
 * program that builds the APDU object; any other APDU answers
 * DM_ERR_APDU_NOT_HOT and is walked by the Python codec. */
#define DM_ERR_APDU_NOT_HOT -23
#define DM_MEMO_APDU_BASE 2048
#define DM_MEMO_NULL_DATA (DM_MEMO_APDU_BASE + 0)
#define DM_MEMO_GET_RESPONSE_NORMAL (DM_MEMO_APDU_BASE + 1)
#define DM_MEMO_DATA_NOTIFICATION (DM_MEMO_APDU_BASE + 2)
#define DM_MEMO_GENERAL_BLOCK_TRANSFER (DM_MEMO_APDU_BASE + 3)
#define DM_MEMO_FIELD_BASE (DM_MEMO_APDU_BASE + 16) /* + DM_FIELD_*: attribute names */
#define DM_FIELD_INVOKE_ID 0
#define DM_FIELD_PRIORITY 1
#define DM_FIELD_SERVICE_CLASS 2
#define DM_FIELD_RESULT 3
#define DM_FIELD_LONG_INVOKE_ID 4
#define DM_FIELD_PROCESSING_OPTION 5
#define DM_FIELD_SELF_DESCRIPTIVE 6
#define DM_FIELD_DATE_TIME 7
#define DM_FIELD_BODY 8
#define DM_FIELD_LAST_BLOCK 9
#define DM_FIELD_STREAMING 10
#define DM_FIELD_WINDOW 11
#define DM_FIELD_BLOCK_NUMBER 12
#define DM_FIELD_BLOCK_NUMBER_ACK 13
#define DM_FIELD_BLOCK_DATA 14
#define DM_FIELD_COUNT 15
#define DM_MEMO_PRIORITY_BASE (DM_MEMO_APDU_BASE + 40)      /* + 0 normal, + 1 high */
#define DM_MEMO_SERVICE_CLASS_BASE (DM_MEMO_APDU_BASE + 42) /* + 0 unconfirmed, + 1 confirmed */
#define DM_MEMO_DAR_BASE (DM_MEMO_APDU_BASE + 256)          /* + octet: DataAccessResult */

typedef struct {
    size_t out_len;    /* bytes of loader program written */
    size_t end;        /* offset after the APDU */
    size_t err_offset; /* failing byte offset when the status is an error */
    int in_data;       /* 1 when the error lies inside a Data value */
} dm_apdu_result;

/* One thread's APDU decoding context: the program buffer, the result, and
 * the small-value answer. */
typedef struct {
    uint8_t *out;
    size_t out_cap;
    dm_apdu_result res;
    int64_t value;  /* scalar answer: the integer, or the DataAccessResult */
} dm_apdu_ctx;

#define DM_APDU_SCALAR 0x40000000 /* status bit: a scalar answer, see below */

/* Decode the whole APDU in[0, in_len) (trailing bytes are an error).
 * Returns the length (> 0) of the program written to ctx->out, or, for a get-response-normal
 * carrying one small value, DM_APDU_SCALAR | iip << 8 | kind with no
 * program: kind is the Data tag of an integer, boolean or null-data result
 * (ctx->value holds it), 9 for an octet-string (the content is in[6:]), or
 * 255 for a data-access-result (ctx->value); or a negative DM_ERR_*.
 * Fields equal to the dataclass defaults are left out of programs. */
DM_MUST_CHECK int dm_apdu_decode(const char *in, size_t in_len, dm_apdu_ctx *ctx);

/* ------------------------------------------------------------------------
 * Transport: DLMS/COSEM wrapper (csrc/wrapper.c), UDP checksum over the IPv6
 * pseudo-header (csrc/checksum.c), RFC 6282 IPHC + NHC-UDP
 * (csrc/iphc_compress.c, iphc_decompress.c), RFC 4944 fragmentation
 * (csrc/frag.c).  Status codes -50..-69.
 * ------------------------------------------------------------------------ */
#define DM_ERR_WRAPPER_VERSION -50  /* wrapper version is not 1 */
#define DM_ERR_WRAPPER_LENGTH -51   /* wrapper length does not match the datagram */
#define DM_ERR_IPV6_VERSION -52     /* IP version is not 6 */
#define DM_ERR_IPV6_LENGTH -53      /* IPv6 payload length does not match the datagram */
#define DM_ERR_UDP_LENGTH -54       /* UDP length does not match the IPv6 payload */
#define DM_ERR_LOWPAN_DISPATCH -55  /* not a 6LoWPAN dispatch this decoder handles */
#define DM_ERR_LOWPAN_RESERVED -56  /* reserved IPHC address mode */
#define DM_ERR_LOWPAN_CONTEXT -57   /* IPHC context that is not in the table */
#define DM_ERR_LOWPAN_LINK -58      /* IID from a link-layer address that is not known */
#define DM_ERR_LOWPAN_NHC -59       /* next-header compression other than NHC-UDP */
#define DM_ERR_LOWPAN_SIZE -60      /* datagram size inconsistent with the headers/frame */
#define DM_ERR_FRAG_OFFSET -61      /* fragment reaches beyond datagram_size */
#define DM_ERR_FRAG_OVERLAP -62     /* fragment overlaps another one inconsistently */
#define DM_ERR_FRAG_MTU -63         /* link MTU too small for the fragment headers */
#define DM_ERR_FRAG_TOO_BIG -64     /* datagram larger than 2047 bytes: cannot be fragmented */
#define DM_ERR_FRAG_EMPTY -65       /* fragment without data */
#define DM_ERR_FRAG_LIMIT -66       /* datagram larger than the reassembly memory budget */

typedef struct {
    uint16_t version;
    uint16_t source_wport;
    uint16_t destination_wport;
    uint16_t length;
} dm_wrapper;

/* Decode the wrapper of one UDP datagram in[0, in_len): version 1 and a length
 * equal to the bytes after the header, else an error with *err_offset. */
DM_MUST_CHECK int dm_wrapper_decode(const uint8_t *in, size_t in_len, dm_wrapper *out, size_t *err_offset);

/* Write the 8-byte wrapper header for an APDU of apdu_len bytes: returns 8,
 * DM_ERR_NO_SPACE, or DM_ERR_BAD_ARGUMENT when apdu_len > 65535. */
DM_MUST_CHECK int dm_wrapper_encode(uint16_t source_wport, uint16_t destination_wport, size_t apdu_len, uint8_t *out,
                                    size_t out_cap);

/* The UDP checksum of the segment udp[0, udp_len) (header + payload) between
 * the IPv6 addresses src and dst (16 bytes each); the checksum field counts
 * as zero.  Returns 0x0001..0xFFFF (a zero sum is sent as 0xFFFF), or
 * DM_ERR_TRUNCATED when udp_len < 8, DM_ERR_BAD_ARGUMENT when it exceeds
 * 0xFFFFFFFF. */
DM_MUST_CHECK int32_t dm_udp_checksum(const uint8_t *src, const uint8_t *dst, const uint8_t *udp, size_t udp_len);

/* IPHC contexts: a table of DM_LOWPAN_CONTEXTS entries indexed by context id. */
#define DM_LOWPAN_CONTEXTS 16
#define DM_CONTEXT_DECOMPRESS 1 /* flag: the entry is valid for decompression */
#define DM_CONTEXT_COMPRESS 2   /* flag: the compressor may use the entry */
typedef struct {
    uint8_t prefix[16];
    uint8_t length; /* prefix length in bits, 0..128 */
    uint8_t flags;
} dm_lowpan_context;

/* The link-layer source and destination of one frame (or the mesh originator
 * and final destination), big-endian: 8 bytes (EUI-64), 2 bytes (short), or
 * 0 (not known). */
typedef struct {
    uint8_t src[8];
    uint8_t dst[8];
    uint8_t src_len;
    uint8_t dst_len;
} dm_ll_pair;

/* One item of a batch: every field a uint32 so Python reads the array flat. */
typedef struct {
    int32_t status;         /* DM_OK or a negative DM_ERR_* */
    uint32_t offset;        /* where the item's output starts in out */
    uint32_t length;        /* output bytes (0 on error) */
    uint32_t header_length; /* compressed header bytes written or read */
    uint32_t err_offset;    /* failing byte offset in the item's input */
    uint32_t info;          /* DM_IPHC_INFO_* bits | sci << 8 | dci << 12 */
} dm_lowpan_item;

#define DM_IPHC_ELIDE_CHECKSUM 1 /* compress flag: the caller authorises UDP checksum elision */
#define DM_IPHC_HEADERS_ONLY 2   /* compress flag: items are IPv6 (+ UDP) headers alone */
#define DM_IPHC_INFO_SAC 1       /* the source address came from context sci */
#define DM_IPHC_INFO_DAC 2       /* the destination address came from context dci */
#define DM_IPHC_INFO_UDP 4       /* NHC-UDP: 48 uncompressed header bytes, else 40 */
#define DM_IPHC_INFO_ELIDED 8    /* the UDP checksum was elided */
#define DM_IPHC_INFO_PENDING 16  /* elided checksum left 0: the datagram is incomplete */

/* Compress n IPv6 datagrams (or, with DM_IPHC_HEADERS_ONLY, headers) to
 * IPHC frames (compressed headers + payload); item i is
 * in[in_end[i-1], in_end[i]) with in_end[-1] = 0.  ll holds ll_count pairs:
 * 0 (none known), 1 (shared) or n.  ctx is NULL or DM_LOWPAN_CONTEXTS entries.
 * Every encoding is the shortest one that decompresses to the same bytes.
 * Returns the number of items that failed (their status says why), or
 * DM_ERR_NO_SPACE (out_cap < total input + n is always enough) or
 * DM_ERR_BAD_ARGUMENT. */
DM_MUST_CHECK int dm_iphc_compress(const uint8_t *in, const uint32_t *in_end, size_t n, const dm_ll_pair *ll, size_t ll_count,
                                   const dm_lowpan_context *ctx, int flags, uint8_t *out, size_t out_cap, dm_lowpan_item *items);

/* Decompress n IPHC frames (each starting at its IPHC dispatch) to IPv6
 * datagrams.  datagram_size 0: the frame holds the whole datagram (an elided
 * UDP checksum is recomputed); otherwise the frame is the content of a FRAG1
 * of a datagram of that size (lengths come from it, an elided checksum is left
 * 0 with DM_IPHC_INFO_PENDING).  out_cap >= total input + 48 n is always
 * enough.  Returns as dm_iphc_compress. */
DM_MUST_CHECK int dm_iphc_decompress(const uint8_t *in, const uint32_t *in_end, size_t n, const dm_ll_pair *ll,
                                     size_t ll_count, const dm_lowpan_context *ctx, uint32_t datagram_size, uint8_t *out,
                                     size_t out_cap, dm_lowpan_item *items);

/* Compress one IPv6 datagram and, when the frame exceeds mtu bytes, split it
 * into RFC 4944 FRAG1/FRAGN frames of at most mtu bytes, each starting with
 * prefix (e.g. a mesh header).  Frame k is out[frame_end[k-1], frame_end[k]).
 * Returns the number of frames, or a negative DM_ERR_* with res->err_offset
 * (DM_ERR_NO_SPACE: out_cap or max_frames too small). */
DM_MUST_CHECK int dm_frag_split(const uint8_t *in, size_t in_len, const dm_ll_pair *ll, const dm_lowpan_context *ctx, int flags,
                                uint32_t mtu, uint16_t tag, const uint8_t *prefix, size_t prefix_len, uint8_t *out,
                                size_t out_cap, uint32_t *frame_end, size_t max_frames, dm_lowpan_item *res);

/* Security (csrc/secure.c): AES-GCM protection of ciphered xDLMS APDUs
 * (IEC 62056-5-3).  Keys live in dm_secure_key contexts created once per
 * key (the AES key schedule is computed there, never per frame) and freed
 * explicitly; a context serves one call at a time.  Failing frames leave no
 * plaintext: their output bytes are zeroed. */
#define DM_ERR_SEC_AUTH -40     /* authentication tag did not verify */
#define DM_ERR_SEC_SUITE -41    /* security suite differs from the configured one */
#define DM_ERR_SEC_NO_KEY -42   /* no key for this sender and key set */
#define DM_ERR_SEC_CONTROL -43  /* security control byte not acceptable here */
#define DM_ERR_SEC_POLICY -44   /* weaker protection than the security policy requires */
#define DM_ERR_SEC_TAG -45      /* not a ciphered APDU tag */
#define DM_ERR_SEC_TITLE -46    /* system title length other than 0 or 8 */
#define DM_ERR_SEC_NO_TITLE -47 /* no system title in the frame and none configured */
#define DM_ERR_SEC_MISMATCH -48 /* the ciphered tag is not the protected form of the APDU inside */
#define DM_ERR_SEC_CRYPTO -49   /* libcrypto failed (out of memory) */

#define DM_SEC_SERVICE_GLO 1 /* frame kinds */
#define DM_SEC_SERVICE_DED 2
#define DM_SEC_GENERAL_GLO 3
#define DM_SEC_GENERAL_DED 4
#define DM_SEC_GENERAL_CIPHERING 5
#define DM_SEC_GENERAL_SIGNING 6
#define DM_SEC_KEY_INFO_NONE 0 /* general-ciphering key-info */
#define DM_SEC_KEY_INFO_IDENTIFIED 1
#define DM_SEC_KEY_INFO_WRAPPED 2
#define DM_SEC_KEY_INFO_AGREED 3
#define DM_SEC_KEY_UNICAST 0 /* key sets */
#define DM_SEC_KEY_BROADCAST 1
#define DM_SEC_KEY_DEDICATED 2
#define DM_SEC_HEADER_AAD 1 /* peer flag: general-ciphering header fields enter the AAD */
#define DM_SEC_ANY_TITLE 2  /* peer flag (single peer): accept the title a frame carries */
#define DM_SEC_UNTITLED 4   /* peer flag: the peer's own system title is not known */
#define DM_SEC_DEFERRED 1   /* batch status: frame left to the Python path (signing, wrapped/agreed key) */
#define DM_SEC_FRAME_CONTENT 0 /* seal framing: SC IC body tag only */
#define DM_SEC_FRAME_GLO 1     /* service-specific glo- tag of the plaintext's tag */
#define DM_SEC_FRAME_DED 2
#define DM_SEC_FRAME_GENERAL_GLO 3 /* general-glo-ciphering with the system title */
#define DM_SEC_FRAME_GENERAL_DED 4
#define DM_SEC_TAG_LEN 12

typedef struct dm_secure_key dm_secure_key;

/* A context for the encryption key ek (16 or 32 bytes) and authentication
 * key ak (0, 16 or 32 bytes).  ak NULL: no authentication key, authenticated
 * frames are refused (DM_ERR_SEC_NO_KEY); a non-NULL ak of length 0: an empty
 * one (the GB smart-metering profile leaves AK out of the AAD).  Returns DM_OK with *out set, DM_ERR_BAD_ARGUMENT
 * or DM_ERR_SEC_CRYPTO. */
DM_MUST_CHECK int dm_secure_key_new(const uint8_t *ek, size_t ek_len, const uint8_t *ak, size_t ak_len,
                                    dm_secure_key **out);
void dm_secure_key_free(dm_secure_key *key);

/* Offsets and lengths of the parts of one ciphered APDU (uint32 each). */
typedef struct {
    uint32_t tag, kind;
    uint32_t title, title_len;         /* sender system title (IV) */
    uint32_t recipient, recipient_len; /* general-ciphering/-signing */
    uint32_t header, header_len;       /* transaction-id .. other-information */
    uint32_t transaction, transaction_len;
    uint32_t date_time, date_time_len;
    uint32_t other, other_len;
    uint32_t key_info, key_id;         /* key-id, kek-id (0 otherwise) */
    uint32_t key_params, key_params_len, key_data, key_data_len;
    uint32_t content, content_len;     /* SC IC body [tag]; general-signing: the APDU */
    uint32_t signature, signature_len; /* general-signing */
    uint32_t sc, ic;
} dm_secure_frame;

/* Split in[0, in_len) into its parts, checking every length. */
DM_MUST_CHECK int dm_secure_parse(const uint8_t *in, size_t in_len, dm_secure_frame *f, size_t *err_offset);

/* Protect one APDU: writes SC IC (ciphertext or plaintext) [tag] to out and
 * its length to *out_len.  header (may be empty) enters the AAD after AK. */
DM_MUST_CHECK int dm_secure_seal(dm_secure_key *key, uint8_t sc, const uint8_t *title, uint32_t ic,
                                 const uint8_t *header, size_t header_len, const uint8_t *in, size_t in_len,
                                 uint8_t *out, size_t out_cap, size_t *out_len);

/* Verify and decrypt one ciphered content (SC IC body [tag]) sent under the
 * 8-byte title: the plaintext goes to out (zeroed on failure). */
DM_MUST_CHECK int dm_secure_open(dm_secure_key *key, const uint8_t *title, const uint8_t *content,
                                 size_t content_len, const uint8_t *header, size_t header_len, uint8_t *out,
                                 size_t out_cap, size_t *out_len);

/* One sender's keys for dm_secure_open_batch; peers are sorted by title. */
typedef struct {
    uint8_t title[8];
    uint32_t suite;
    uint32_t required; /* SC bits 0x10/0x20 the policy requires */
    uint32_t flags;    /* DM_SEC_HEADER_AAD, DM_SEC_ANY_TITLE, DM_SEC_UNTITLED */
    dm_secure_key *unicast, *broadcast, *dedicated; /* NULL when not configured */
} dm_secure_peer;

/* The outcome of one frame of a batch. */
typedef struct {
    int32_t status;      /* DM_OK, DM_SEC_DEFERRED or a DM_ERR_* */
    uint32_t err_offset; /* in the frame */
    uint32_t peer;       /* index of the sender in peers (0xFFFFFFFF: unknown) */
    uint32_t tag, sc, ic, key_set;
    uint32_t plain, plain_len; /* the plaintext: out[plain, plain + plain_len) */
} dm_secure_item;

/* Verify and decrypt frames in[offsets[i], offsets[i+1]) for i < n; frame i's
 * plaintext is written at out + offsets[i] (out_cap >= offsets[n]).  Frames
 * without a system title belong to peers[default_peer] (npeers: none).
 * Returns the number of frames that succeeded, or DM_ERR_BAD_ARGUMENT. */
DM_MUST_CHECK int64_t dm_secure_open_batch(const dm_secure_peer *peers, size_t npeers, size_t default_peer,
                                           const uint8_t *in, const uint32_t *offsets, size_t n, uint8_t *out,
                                           size_t out_cap, dm_secure_item *items);

/* Protect n APDUs in[offsets[i], offsets[i+1]) with invocation counters
 * first_ic, first_ic + 1, ... and the given framing; frame i is written at
 * out[out_offsets[i], out_offsets[i+1]).  Returns the bytes written, or an
 * error with *err_index the failing APDU. */
DM_MUST_CHECK int64_t dm_secure_seal_batch(dm_secure_key *key, uint8_t sc, const uint8_t *title,
                                           uint32_t first_ic, int framing, const uint8_t *in,
                                           const uint32_t *offsets, size_t n, uint8_t *out, size_t out_cap,
                                           uint32_t *out_offsets, size_t *err_index);

/* One frame of an association, with the fewest steps.
 *
 * dm_secure_open_glo: a service-specific glo- frame from peer (as
 * dm_secure_open_batch of one frame and that peer alone: the same checks),
 * under the peer's unicast key only.  Returns plain_len | sc << 16 |
 * ic << 24 (frame_len <= 65535, so plain_len fits 16 bits) with the plaintext
 * at out; DM_ERR_SEC_TAG for a frame of another kind or key set (the batch
 * entry opens those), or the error dm_secure_open_batch reports.
 *
 * dm_secure_seal_one: dm_secure_seal_batch of one APDU; returns the frame's
 * length (written at out) or an error. */
DM_MUST_CHECK int64_t dm_secure_open_glo(const dm_secure_peer *peer, const uint8_t *frame, size_t frame_len,
                                         char *out, size_t out_cap);
DM_MUST_CHECK int64_t dm_secure_seal_one(dm_secure_key *key, uint8_t sc, const uint8_t *title, uint32_t ic,
                                         int framing, const uint8_t *apdu, size_t apdu_len, char *out,
                                         size_t out_cap);

/* ------------------------------------------------------------------------
 * Columns (csrc/columns_decode.c, csrc/columns_encode.c): an A-XDR array of
 * uniform rows (a profile-generic buffer) to and from typed column buffers
 * that the caller provides.  Status codes -70..-79.
 * ------------------------------------------------------------------------ */
#define DM_ERR_COL_NOT_ARRAY -70 /* the value is not an array */
#define DM_ERR_COL_ROW -71       /* a row is not a structure of the layout's width */
#define DM_ERR_COL_FIELD -72     /* a field's tag differs from the layout */
#define DM_ERR_COL_WIDTH -73     /* an octet-string date-time is not 12 octets */
#define DM_ERR_COL_TYPE -74      /* a type that cannot be a column (layout inference) */
#define DM_ERR_COL_VALUE -75     /* a column value that cannot be encoded */

#define DM_COL_DATETIME 14 /* int64 epoch values + int16 deviation + uint8 status */
#define DM_COL_NAT INT64_MIN /* the epoch of a date-time that names no moment */
#define DM_DEVIATION_NOT_SPECIFIED -32768

#define DM_COLUMNS_WHOLE 1          /* decode: bytes after the array are an error */
#define DM_COLUMNS_REVERSED_SIGN 2  /* UTC = local - deviation (non-standard meters) */
#define DM_COLUMNS_BARE 4           /* rows are single values, not structures */

/* One column of a layout and its buffers (rows entries each, host order).
 * kind DM_COL_*; DM_COL_F32 holds float, DM_COL_BOOL uint8 0/1;
 * DM_COL_FIXED_OCTETS (date, time: width octets, no length) and DM_COL_OCTETS
 * (octet-string, visible-string) keep the bytes in values with rows + 1
 * offsets; DM_COL_DATETIME keeps the epoch in values (unit ticks per second,
 * UTC from the deviation, DM_COL_NAT when the fields name no moment) and the
 * raw deviation and clock status beside it. */
typedef struct {
    int32_t kind;
    uint8_t tag;         /* the Data tag on the wire (9 for an octet-string date-time) */
    uint8_t nullable;    /* null-data stands for a missing value: valid[r] = 0 */
    uint32_t width;      /* DM_COL_FIXED_OCTETS: octets per value */
    void *values;
    int64_t *offsets;    /* octets kinds: value r is values[offsets[r], offsets[r + 1]) */
    uint64_t capacity;   /* octets kinds: bytes values holds */
    uint8_t *valid;      /* nullable: 1 present, 0 null-data */
    int16_t *deviation;  /* DM_COL_DATETIME */
    uint8_t *status;     /* DM_COL_DATETIME */
} dm_colspec;

typedef struct {
    uint64_t end;        /* decode: offset after the array; encode: bytes needed */
    uint64_t err_offset; /* failing byte offset (decode) */
    int64_t err_row;     /* failing row, -1 outside the rows */
    int32_t err_field;   /* failing field, -1 outside a field */
    int32_t err_found;   /* the tag, count or length found instead (-1: none) */
} dm_columns_result;

/* Decode the array of `rows` rows at in[offset] into the column buffers. */
DM_MUST_CHECK int dm_columns_decode(const uint8_t *in, size_t in_len, size_t offset, size_t rows, dm_colspec *cols,
                                    size_t ncols, int64_t unit, int flags, dm_columns_result *res);

/* Encode `rows` rows from the column buffers as an A-XDR array (header
 * included).  Returns the bytes written; DM_ERR_NO_SPACE with res->end the
 * bytes needed; DM_ERR_COL_VALUE with err_row/err_field; DM_ERR_BAD_ARGUMENT. */
DM_MUST_CHECK int64_t dm_columns_encode(const dm_colspec *cols, size_t ncols, size_t rows, int64_t unit, int flags,
                                        uint8_t *out, size_t out_cap, dm_columns_result *res);

/* ------------------------------------------------------------------------
 * The batch frame pipeline (csrc/pipeline_decode.c, csrc/pipeline_encode.c):
 * N frames through every layer in one call, each layer done by the function
 * above that owns it (IPHC, checksum, wrapper, secure, APDU hot path).
 * Status codes -80..-89.
 * ------------------------------------------------------------------------ */
#define DM_ERR_PIPE_REPLAY -80   /* invocation counter not above the last accepted one */
#define DM_ERR_PIPE_FRAGMENT -81 /* a 6LoWPAN fragment: reassemble it before the pipeline */
#define DM_ERR_PIPE_NOT_UDP -82  /* the IPv6 next header is not UDP */
#define DM_ERR_PIPE_CHECKSUM -83 /* the UDP checksum does not verify */
#define DM_ERR_PIPE_PLAIN -84    /* an unciphered APDU where protection is required */
#define DM_ERR_PIPE_NO_KEYS -85  /* a ciphered APDU and no keys to open it */
#define DM_ERR_PIPE_TOO_LONG -86 /* encode: a frame longer than its length fields allow */
#define DM_ERR_PIPE_OTHER -87    /* (Python) an error of a layer decoded above the C core */

/* layers, bottom to top: what the frames of a batch are, and where one failed */
#define DM_PIPE_LOWPAN 1
#define DM_PIPE_IPV6 2
#define DM_PIPE_UDP 3
#define DM_PIPE_WRAPPER 4
#define DM_PIPE_SECURITY 5
#define DM_PIPE_APDU 6

/* decode flags */
#define DM_PIPE_KEYS 1        /* a security context is given (peers may be empty) */
#define DM_PIPE_ALLOW_PLAIN 2 /* with keys: accept unciphered APDUs as well */
#define DM_PIPE_CHECKSUM 4    /* a UDP checksum that does not verify is an error */

/* dm_pipe_item.flags */
#define DM_PIPE_F_DEFER_SECURITY 1 /* security left to the caller (general-signing, wrapped/agreed key) */
#define DM_PIPE_F_DEFER_REPLAY 2   /* the counter check left to the caller (the entry says so) */
#define DM_PIPE_F_DEFER_APDU 4     /* the APDU left to the caller (not on the hot path, or no program space) */
#define DM_PIPE_F_DATAGRAM 8       /* the frame's base lies in the datagrams buffer (decompressed) */
#define DM_PIPE_F_CIPHERED 16      /* the APDU was ciphered: its plaintext is in the plain buffer */
#define DM_PIPE_F_CHECKSUM_CHECKED 32
#define DM_PIPE_F_CHECKSUM_OK 64
#define DM_PIPE_F_IN_DATA 128 /* the APDU error lies inside a Data value */
#define DM_PIPE_F_MESH 256    /* a mesh header replaced the link-layer addresses */
#define DM_PIPE_F_BC0 512     /* a broadcast (BC0) header preceded the dispatch */
#define DM_PIPE_NONE 0xFFFFFFFFu /* an absent offset or index */

/* The receive state of one (peer, key set): entry peer * 3 + key set.  The
 * caller loads entries, marks those it decides itself DM_RX_CALLER, and after
 * the call commits the entries listed in touched (prev_* hold their state
 * before the call) and clears their DM_RX_TOUCHED. */
#define DM_RX_KNOWN 1   /* last is the highest accepted counter (else none yet) */
#define DM_RX_CALLER 2  /* the caller checks this entry's counters (item flag DEFER_REPLAY) */
#define DM_RX_TOUCHED 4 /* changed by this call */
typedef struct {
    uint32_t last;
    uint32_t flags;
    uint32_t prev_last;
    uint32_t prev_flags;
} dm_rx_counter;

/* The outcome of one frame: every field 32 bits so Python reads the array flat. */
typedef struct {
    int32_t status;         /* DM_OK or a negative DM_ERR_* */
    uint32_t layer;         /* DM_PIPE_*: where the frame failed (DM_PIPE_APDU when it did not) */
    uint32_t err_offset;    /* the failing byte of the input frame */
    uint32_t flags;         /* DM_PIPE_F_* */
    uint32_t lowpan;        /* the dispatch octet after mesh/BC0 | IPHC info (DM_IPHC_INFO_*) << 8 */
    uint32_t header_length; /* 6LoWPAN: compressed header bytes (mesh, BC0, dispatch, IPHC, NHC) */
    uint32_t uncompressed;  /* 6LoWPAN: the uncompressed header bytes they stand for */
    uint32_t base;          /* the frame above 6LoWPAN: offset in the input (or F_DATAGRAM: datagrams) */
    uint32_t base_len;
    uint32_t udp;           /* offsets in the base (DM_PIPE_NONE when absent) */
    uint32_t wrapper;
    uint32_t apdu;
    uint32_t apdu_len;
    uint32_t plain;         /* the plaintext APDU: in the plain buffer (F_CIPHERED), else in the base */
    uint32_t plain_len;
    uint32_t peer;          /* security: index in peers (DM_PIPE_NONE: not known) */
    uint32_t tag, sc, ic, key_set;
    uint32_t replay_last;   /* DM_ERR_PIPE_REPLAY: the last counter accepted before */
    uint32_t program, program_len; /* the APDU's loader program in the program buffer */
    uint32_t scalar;        /* a DM_APDU_SCALAR answer instead of a program (0: none) */
    uint32_t value_lo, value_hi;   /* its value (dm_apdu_ctx.value) */
} dm_pipe_item;

typedef struct {
    uint32_t layer;         /* DM_PIPE_LOWPAN, _IPV6, _UDP, _WRAPPER or _APDU */
    uint32_t flags;         /* DM_PIPE_KEYS, DM_PIPE_ALLOW_PLAIN, DM_PIPE_CHECKSUM */
    const dm_ll_pair *ll;   /* 6LoWPAN: 0, 1 (shared) or n link-layer address pairs */
    size_t ll_count;
    const dm_lowpan_context *contexts; /* NULL or DM_LOWPAN_CONTEXTS entries */
    const dm_secure_peer *peers;       /* sorted by title, as for dm_secure_open_batch */
    size_t npeers;
    size_t default_peer;
    dm_rx_counter *counters;           /* 3 * npeers entries, or NULL: no replay check */
} dm_pipe_config;

/* Caller-provided buffers (nothing is allocated).  stage and plain hold
 * stage_cap bytes each; datagrams_cap >= input + 48 n always suffices. */
typedef struct {
    uint8_t *datagrams;
    size_t datagrams_cap;
    uint8_t *stage;
    uint8_t *plain;
    size_t stage_cap;
    uint32_t *stage_offsets;   /* n + 1 */
    dm_secure_item *secure;    /* n */
    uint8_t *program;
    size_t program_cap;
    dm_pipe_item *items;       /* n */
    uint32_t *touched;         /* up to 3 * npeers entry indexes (out) */
    size_t touched_count;      /* out */
    size_t deferred;           /* out: frames with a DM_PIPE_F_DEFER_* flag */
    size_t program_len;        /* out */
} dm_pipe_buffers;

/* Decode frames in[offsets[i], offsets[i+1]) for i < n from cfg->layer up to
 * the APDU: 6LoWPAN (mesh, BC0, IPHC or uncompressed IPv6), IPv6, UDP length
 * and checksum, wrapper, then the ciphered APDUs in one dm_secure_open_batch,
 * counters in frame order (only frames that verified change an entry), and
 * the APDU hot path.  A frame that fails leaves no plaintext.  Returns the
 * number of frames without error, or DM_ERR_BAD_ARGUMENT / DM_ERR_NO_SPACE. */
DM_MUST_CHECK int64_t dm_pipe_decode(const dm_pipe_config *cfg, const uint8_t *in, const uint32_t *offsets, size_t n,
                                     dm_pipe_buffers *buf);

/* One request of dm_pipe_encode: all 32-bit fields but obis. */
#define DM_PIPE_REQ_RAW 0    /* value: a whole APDU, sent as it is */
#define DM_PIPE_REQ_GET 1    /* get-request-normal */
#define DM_PIPE_REQ_SET 2    /* set-request-normal, value: the A-XDR value */
#define DM_PIPE_REQ_ACTION 3 /* action-request-normal, value: the A-XDR parameters (optional) */
#define DM_PIPE_REQ_NOTIFY 4 /* data-notification, value: the A-XDR body; extra: 12-octet date-time */
#define DM_PIPE_REQ_ACCESS 1 /* option: selective access (selector, extra: A-XDR parameters) */
#define DM_PIPE_REQ_VALUE 2  /* option: ACTION parameters present / notification date-time present */
typedef struct {
    uint32_t kind;
    uint32_t options;
    uint32_t head;      /* invoke-id-and-priority, or the long-invoke-id-and-priority */
    uint32_t class_id;
    uint32_t member;    /* attribute or method id */
    uint32_t selector;
    uint32_t value, value_len; /* in the values buffer */
    uint32_t extra, extra_len;
    uint32_t sender;    /* index in senders, or DM_PIPE_NONE: not ciphered */
    uint32_t ic;        /* the invocation counter (reserved by the caller) */
    uint32_t peer;      /* index in destinations and link pairs */
    uint32_t wports;    /* source wPort << 16 | destination wPort */
    uint8_t obis[8];    /* 6 used */
} dm_pipe_request;

/* One key we send under: frames are sealed with dm_secure_seal_batch framing. */
typedef struct {
    dm_secure_key *key;
    uint8_t title[8];
    uint32_t sc;
    uint32_t framing;   /* DM_SEC_FRAME_GLO, _DED, _GENERAL_GLO or _GENERAL_DED */
} dm_pipe_sender;

typedef struct {
    uint32_t layer;             /* DM_PIPE_WRAPPER (WPDUs), _UDP (segments), _IPV6 or _LOWPAN (IPHC frames) */
    uint32_t iphc_flags;        /* DM_IPHC_ELIDE_CHECKSUM */
    uint32_t ports;             /* source port << 16 | destination port */
    uint32_t ip;                /* traffic class << 24 | hop limit << 16 (flow label: flow_label) */
    uint32_t flow_label;
    const uint8_t *source;      /* 16 bytes */
    const uint8_t *destinations;/* 16 bytes per peer */
    size_t npeers;
    const dm_ll_pair *ll;       /* 0, 1 (shared) or npeers pairs */
    size_t ll_count;
    const dm_lowpan_context *contexts;
    const dm_pipe_sender *senders;
    size_t nsenders;
} dm_pipe_encode_config;

typedef struct {
    uint8_t *apdu;              /* one request's APDU at a time */
    size_t apdu_cap;
    uint8_t *stage;             /* layer lowpan: the IPv6 datagrams before compression */
    size_t stage_cap;
    uint32_t *stage_ends;       /* n */
    dm_ll_pair *ll;             /* n (layer lowpan) */
    dm_lowpan_item *lowpan;     /* n (layer lowpan) */
    uint8_t *out;
    size_t out_cap;
    uint32_t *out_offsets;      /* n + 1: frame i is out[out_offsets[i], out_offsets[i+1]) */
    size_t err_index;           /* out: the request that failed */
} dm_pipe_encode_buffers;

/* Encode n requests: APDU (from the fields and the caller's A-XDR values),
 * sealing (dm_secure_seal_batch framing, the request's counter), wrapper,
 * UDP with checksum, IPv6, IPHC (one dm_iphc_compress over the batch).
 * Returns the bytes written to out, or a negative DM_ERR_* with err_index. */
DM_MUST_CHECK int64_t dm_pipe_encode(const dm_pipe_encode_config *cfg, const dm_pipe_request *reqs, size_t n,
                                     const uint8_t *values, size_t values_len, dm_pipe_encode_buffers *buf);

/* ------------------------------------------------------------------------
 * Pushes as columns (csrc/push_columns.c): the data-notifications of a batch
 * that dm_pipe_decode decoded, one row per frame whose body fits the shape.
 * ------------------------------------------------------------------------ */
#define DM_PUSH_META 5              /* meta columns: frame, system title, invocation counter, invoke-id, date-time */
#define DM_PUSH_SHAPE_FIELD 0xFFFF  /* shape op: the next field; any other op n: a structure of n elements */
#define DM_PUSH_SHAPE_MAX 1024      /* shape ops at most */
#define DM_PUSH_TAKEN 0             /* outcome: the frame is a row */
#define DM_PUSH_FAILED 1            /* outcome: the frame did not decode */
#define DM_PUSH_NOT_NOTIFICATION 2  /* outcome: its APDU is not a data-notification */

/* The records and buffers of one decoded batch, and the senders' titles. */
typedef struct {
    const dm_pipe_item *items;
    size_t n;
    const uint8_t *data;        /* the input frames */
    size_t data_len;
    const uint8_t *datagrams;   /* bases with DM_PIPE_F_DATAGRAM */
    size_t datagrams_len;
    const uint8_t *plain;       /* plaintexts of ciphered frames */
    size_t plain_len;
    const uint8_t *titles;      /* 8 octets per peer index */
    const uint8_t *titled;      /* per peer index: 1 when its title is known */
    size_t ntitles;
} dm_push_batch;

/* Rows from the data-notifications of the batch whose bodies fit shape
 * (shape_len ops; as many DM_PUSH_SHAPE_FIELD ops as cols).  meta: five
 * columns of n rows: frame index (U32), system title (OCTETS, empty when none
 * is known, capacity 8 n), invocation counter (U32, nullable: 0 when not
 * ciphered), long-invoke-id (U32), date-time (DATETIME, nullable: 0 when the
 * notification has none); cols: the body fields (octets capacity: the
 * plaintext bytes).  outcome: 4 int32 per frame: DM_PUSH_* or the negative
 * DM_ERR_* of a body that does not fit, the offset in the plaintext APDU, the
 * body field (-1: none) and the tag or count found (-1: none).  Returns the
 * rows written, or DM_ERR_BAD_ARGUMENT. */
DM_MUST_CHECK int64_t dm_push_columns(const dm_push_batch *batch, const uint16_t *shape, size_t shape_len,
                                      dm_colspec *meta, dm_colspec *cols, size_t ncols, int64_t unit, int flags,
                                      int32_t *outcome);

#endif
