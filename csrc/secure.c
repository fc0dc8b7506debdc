/* Security layer: AES-GCM protection of ciphered xDLMS APDUs (IEC 62056-5-3;
 * GCM per NIST SP 800-38D).
 *
 * AES-GCM comes from OpenSSL's libcrypto through EVP.  A dm_secure_key holds
 * one EVP context per direction, keyed once: every frame only re-initialises
 * the IV, so the AES key schedule and the GHASH key are computed once per key,
 * not per frame.  Nothing is global; a key context serves one call at a time
 * (the Python wrapper holds a lock per key).
 *
 * The IV (sender system title || invocation counter) is 12 bytes on the stack;
 * the AAD is fed to GCM in pieces (SC || AK, then the general-ciphering
 * header, then the plaintext for authentication-only) straight from where
 * those bytes already are, with no concatenation buffer.  AK sits right after
 * a spare byte in the key context so that SC || AK is one update.
 *
 * Tags are checked by OpenSSL's GCM final (CRYPTO_memcmp, constant time).  A
 * frame that fails leaves no plaintext: its output bytes are cleansed.
 *
 * Error offsets and the order of checks follow python/dlmsmesh/_pure/secure.py
 * exactly: both backends report the same error at the same offset.
 */
#include <limits.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "bytes.h"
#include "dlmsmesh.h"

#define SC_AUTH 0x10u
#define SC_ENC 0x20u
#define SC_BROADCAST 0x40u
#define SC_COMPRESSED 0x80u
#define SC_SUITE 0x0Fu
#define HEAD 5u /* SC + IC */
#define NO_PEER 0xFFFFFFFFu

struct dm_secure_key {
    EVP_CIPHER_CTX *enc;
    EVP_CIPHER_CTX *dec;
    size_t ak_len;
    int has_ak; /* 0: no AK at all (authenticated frames refused); 1 with ak_len 0: the empty AK of GBCS */
    uint8_t aad[1 + 32]; /* aad[0]: the SC of the frame at hand; then AK */
};

/* The APDUs that have a service-specific ciphered form (xdlms-apdus.md 1.1). */
static const uint8_t PLAIN_TAGS[16] = {0x01, 0x05, 0x06, 0x08, 0x0C, 0x0D, 0x0E, 0x16,
                                       0x18, 0xC0, 0xC1, 0xC2, 0xC3, 0xC4, 0xC5, 0xC7};

static unsigned glo_tag(unsigned plain) { return plain < 0x80 ? plain + 0x20 : plain + 0x08; }
static unsigned ded_tag(unsigned plain) { return plain < 0x80 ? plain + 0x40 : plain + 0x10; }

/* The kind of a service-specific ciphered tag (0 when it is not one) and the
 * plain tag it protects. */
static unsigned service_kind(unsigned tag, unsigned *plain)
{
    for (size_t i = 0; i < sizeof PLAIN_TAGS; i++) {
        if (glo_tag(PLAIN_TAGS[i]) == tag) {
            *plain = PLAIN_TAGS[i];
            return DM_SEC_SERVICE_GLO;
        }
        if (ded_tag(PLAIN_TAGS[i]) == tag) {
            *plain = PLAIN_TAGS[i];
            return DM_SEC_SERVICE_DED;
        }
    }
    return 0;
}

/* ---------------------------------------------------------------------- */
/* keys                                                                    */
/* ---------------------------------------------------------------------- */

int dm_secure_key_new(const uint8_t *ek, size_t ek_len, const uint8_t *ak, size_t ak_len,
                      dm_secure_key **out)
{
    if (out == NULL)
        return DM_ERR_BAD_ARGUMENT;
    *out = NULL;
    if (ek == NULL || (ek_len != 16 && ek_len != 32) ||
        (ak_len != 0 && ak_len != 16 && ak_len != 32) || (ak_len != 0 && ak == NULL))
        return DM_ERR_BAD_ARGUMENT;
    dm_secure_key *key = OPENSSL_zalloc(sizeof *key);
    if (key == NULL)
        return DM_ERR_SEC_CRYPTO;
    const EVP_CIPHER *cipher = ek_len == 16 ? EVP_aes_128_gcm() : EVP_aes_256_gcm();
    key->enc = EVP_CIPHER_CTX_new();
    key->dec = EVP_CIPHER_CTX_new();
    if (key->enc == NULL || key->dec == NULL ||
        EVP_EncryptInit_ex(key->enc, cipher, NULL, ek, NULL) != 1 ||
        EVP_DecryptInit_ex(key->dec, cipher, NULL, ek, NULL) != 1) {
        dm_secure_key_free(key);
        return DM_ERR_SEC_CRYPTO;
    }
    key->ak_len = ak_len;
    key->has_ak = ak != NULL;
    if (ak_len != 0)
        memcpy(key->aad + 1, ak, ak_len);
    *out = key;
    return DM_OK;
}

void dm_secure_key_free(dm_secure_key *key)
{
    if (key == NULL)
        return;
    EVP_CIPHER_CTX_free(key->enc); /* cleanses the key schedule */
    EVP_CIPHER_CTX_free(key->dec);
    OPENSSL_clear_free(key, sizeof *key);
}

/* ---------------------------------------------------------------------- */
/* GCM on one ciphered content                                             */
/* ---------------------------------------------------------------------- */

/* SC || AK [|| header]: the AAD every authenticated frame starts with. */
static int feed_aad(EVP_CIPHER_CTX *ctx, dm_secure_key *key, uint8_t sc, const uint8_t *header,
                    size_t header_len, int encrypt)
{
    int n;
    key->aad[0] = sc;
    int ok = encrypt ? EVP_EncryptUpdate(ctx, NULL, &n, key->aad, (int)(1 + key->ak_len))
                     : EVP_DecryptUpdate(ctx, NULL, &n, key->aad, (int)(1 + key->ak_len));
    if (ok == 1 && header_len != 0)
        ok = encrypt ? EVP_EncryptUpdate(ctx, NULL, &n, header, (int)header_len)
                     : EVP_DecryptUpdate(ctx, NULL, &n, header, (int)header_len);
    return ok == 1 ? DM_OK : DM_ERR_SEC_CRYPTO;
}

/* Writes SC IC body [tag] (HEAD + in_len [+ 12] bytes) to out. */
static int seal_content(dm_secure_key *key, uint8_t sc, const uint8_t *title, uint32_t ic,
                        const uint8_t *header, size_t header_len, const uint8_t *in,
                        size_t in_len, uint8_t *out)
{
    const int auth = (sc & SC_AUTH) != 0, enc = (sc & SC_ENC) != 0;
    uint8_t iv[12], scratch[16];
    int n;
    if ((sc & SC_COMPRESSED) || (!auth && !enc))
        return DM_ERR_SEC_CONTROL;
    if (auth && !key->has_ak)
        return DM_ERR_SEC_NO_KEY;
    memcpy(iv, title, 8);
    dm_put_be32(iv + 8, ic);
    out[0] = sc;
    dm_put_be32(out + 1, ic);
    EVP_CIPHER_CTX *ctx = key->enc;
    if (EVP_EncryptInit_ex(ctx, NULL, NULL, NULL, iv) != 1)
        return DM_ERR_SEC_CRYPTO;
    if (auth) {
        int rc = feed_aad(ctx, key, sc, header, header_len, 1);
        if (rc != DM_OK)
            return rc;
    }
    if (in_len != 0 && enc) {
        if (EVP_EncryptUpdate(ctx, out + HEAD, &n, in, (int)in_len) != 1)
            return DM_ERR_SEC_CRYPTO;
    } else if (in_len != 0) {
        /* authentication only: the APDU travels in clear and is authenticated */
        if (EVP_EncryptUpdate(ctx, NULL, &n, in, (int)in_len) != 1)
            return DM_ERR_SEC_CRYPTO;
        memmove(out + HEAD, in, in_len);
    }
    if (EVP_EncryptFinal_ex(ctx, scratch, &n) != 1)
        return DM_ERR_SEC_CRYPTO;
    if (auth &&
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, DM_SEC_TAG_LEN, out + HEAD + in_len) != 1)
        return DM_ERR_SEC_CRYPTO;
    return DM_OK;
}

/* Verify and decrypt SC IC body [tag]; the caller checked content_len
 * (>= HEAD, >= HEAD + 12 with authentication).  On failure out is cleansed. */
static int open_content(dm_secure_key *key, const uint8_t *title, const uint8_t *content,
                        size_t content_len, const uint8_t *header, size_t header_len,
                        uint8_t *out, size_t *out_len)
{
    const uint8_t sc = content[0];
    const int auth = (sc & SC_AUTH) != 0, enc = (sc & SC_ENC) != 0;
    const size_t body_len = content_len - HEAD - (auth ? DM_SEC_TAG_LEN : 0);
    const uint8_t *body = content + HEAD;
    uint8_t iv[12], scratch[16];
    int n, rc;
    *out_len = 0;
    if ((sc & SC_COMPRESSED) || (!auth && !enc))
        return DM_ERR_SEC_CONTROL;
    if (auth && !key->has_ak)
        return DM_ERR_SEC_NO_KEY;
    memcpy(iv, title, 8);
    memcpy(iv + 8, content + 1, 4);
    EVP_CIPHER_CTX *ctx = key->dec;
    if (EVP_DecryptInit_ex(ctx, NULL, NULL, NULL, iv) != 1)
        return DM_ERR_SEC_CRYPTO;
    if (auth && (rc = feed_aad(ctx, key, sc, header, header_len, 0)) != DM_OK)
        return rc;
    if (!enc) {
        /* authentication only: release the clear APDU only once its tag verified */
        if (EVP_DecryptUpdate(ctx, NULL, &n, body, (int)body_len) != 1 ||
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, DM_SEC_TAG_LEN,
                                (void *)(body + body_len)) != 1)
            return DM_ERR_SEC_CRYPTO;
        if (EVP_DecryptFinal_ex(ctx, scratch, &n) != 1)
            return DM_ERR_SEC_AUTH;
        memcpy(out, body, body_len);
        *out_len = body_len;
        return DM_OK;
    }
    if (EVP_DecryptUpdate(ctx, out, &n, body, (int)body_len) != 1) {
        OPENSSL_cleanse(out, body_len);
        return DM_ERR_SEC_CRYPTO;
    }
    if (auth) {
        if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, DM_SEC_TAG_LEN,
                                (void *)(body + body_len)) != 1) {
            OPENSSL_cleanse(out, body_len);
            return DM_ERR_SEC_CRYPTO;
        }
        if (EVP_DecryptFinal_ex(ctx, scratch, &n) != 1) {
            OPENSSL_cleanse(out, body_len);
            return DM_ERR_SEC_AUTH;
        }
    }
    /* encryption only has no tag to check: GCM's update already produced
     * every byte, and its final would refuse a missing tag */
    *out_len = body_len;
    return DM_OK;
}

/* ---------------------------------------------------------------------- */
/* parsing                                                                 */
/* ---------------------------------------------------------------------- */

#define FAIL(code, off)      \
    do {                     \
        *err = (off);        \
        return (code);       \
    } while (0)

/* An A-XDR octet-string at c; titles (want_title) must be 0 or 8 bytes
 * long.  Every error is reported at its length field. */
static int read_octets(dm_cur *c, uint32_t *off, uint32_t *len, int want_title, size_t *err)
{
    const size_t at = dm_cur_offset(c);
    uint32_t n;
    const uint8_t *bytes;
    const int rc = dm_axdr_read_length(&c->p, c->end, &n);
    if (rc != DM_OK)
        FAIL(rc, at);
    if (want_title && n != 0 && n != DM_SYSTEM_TITLE)
        FAIL(DM_ERR_SEC_TITLE, at);
    if (dm_read_bytes(&c->p, c->end, n, &bytes) != DM_OK)
        FAIL(DM_ERR_TRUNCATED, at);
    *off = (uint32_t)(bytes - c->start);
    *len = n;
    return DM_OK;
}

static int read_byte(dm_cur *c, uint32_t *val, size_t *err)
{
    uint8_t b;
    if (dm_read_u8(&c->p, c->end, &b) != DM_OK)
        FAIL(DM_ERR_TRUNCATED, dm_cur_offset(c));
    *val = b;
    return DM_OK;
}

#define TRY(expr)                \
    do {                         \
        int rc_ = (expr);        \
        if (rc_ != DM_OK)        \
            return rc_;          \
    } while (0)

int dm_secure_parse(const uint8_t *in, size_t in_len, dm_secure_frame *f, size_t *err)
{
    unsigned plain = 0;
    memset(f, 0, sizeof *f);
    *err = 0;
    if (in_len > 0xFFFFFFFFu)
        return DM_ERR_BAD_ARGUMENT;
    dm_cur c = dm_cur_at(in, 0, in_len);
    uint8_t tag;
    if (dm_read_u8(&c.p, c.end, &tag) != DM_OK)
        FAIL(DM_ERR_TRUNCATED, 0);
    unsigned kind = service_kind(tag, &plain);
    if (kind == 0) {
        switch (tag) {
        case 0xDB: kind = DM_SEC_GENERAL_GLO; break;
        case 0xDC: kind = DM_SEC_GENERAL_DED; break;
        case 0xDD: kind = DM_SEC_GENERAL_CIPHERING; break;
        case 0xDF: kind = DM_SEC_GENERAL_SIGNING; break;
        default: FAIL(DM_ERR_SEC_TAG, 0);
        }
    }
    f->tag = tag;
    f->kind = kind;

    if (kind == DM_SEC_GENERAL_GLO || kind == DM_SEC_GENERAL_DED) {
        TRY(read_octets(&c, &f->title, &f->title_len, 1, err));
    } else if (kind == DM_SEC_GENERAL_CIPHERING || kind == DM_SEC_GENERAL_SIGNING) {
        f->header = (uint32_t)dm_cur_offset(&c);
        TRY(read_octets(&c, &f->transaction, &f->transaction_len, 0, err));
        TRY(read_octets(&c, &f->title, &f->title_len, 1, err));
        TRY(read_octets(&c, &f->recipient, &f->recipient_len, 1, err));
        TRY(read_octets(&c, &f->date_time, &f->date_time_len, 0, err));
        TRY(read_octets(&c, &f->other, &f->other_len, 0, err));
        f->header_len = (uint32_t)dm_cur_offset(&c) - f->header;
    }
    if (kind == DM_SEC_GENERAL_CIPHERING) {
        uint32_t flag, choice;
        const size_t flag_at = dm_cur_offset(&c);
        TRY(read_byte(&c, &flag, err));
        if (flag > 1)
            FAIL(DM_ERR_APDU_FLAG, flag_at);
        if (flag == 1) {
            const size_t choice_at = dm_cur_offset(&c);
            TRY(read_byte(&c, &choice, err));
            if (choice == 0) {
                TRY(read_byte(&c, &f->key_id, err));
            } else if (choice == 1) {
                TRY(read_byte(&c, &f->key_id, err));
                TRY(read_octets(&c, &f->key_data, &f->key_data_len, 0, err));
            } else if (choice == 2) {
                TRY(read_octets(&c, &f->key_params, &f->key_params_len, 0, err));
                TRY(read_octets(&c, &f->key_data, &f->key_data_len, 0, err));
            } else {
                FAIL(DM_ERR_APDU_CHOICE, choice_at);
            }
            f->key_info = choice + 1;
        }
    }
    TRY(read_octets(&c, &f->content, &f->content_len, 0, err));
    if (kind == DM_SEC_GENERAL_SIGNING) {
        TRY(read_octets(&c, &f->signature, &f->signature_len, 0, err));
    } else {
        const size_t stop = (size_t)f->content + f->content_len;
        if (f->content_len < HEAD)
            FAIL(DM_ERR_TRUNCATED, stop);
        f->sc = in[f->content];
        f->ic = dm_be32(in + f->content + 1);
        if ((f->sc & SC_AUTH) && f->content_len < HEAD + DM_SEC_TAG_LEN)
            FAIL(DM_ERR_TRUNCATED, stop);
    }
    if (dm_cur_left(&c) != 0)
        FAIL(DM_ERR_TRAILING, dm_cur_offset(&c));
    return DM_OK;
}

/* ---------------------------------------------------------------------- */
/* one frame                                                               */
/* ---------------------------------------------------------------------- */

int dm_secure_seal(dm_secure_key *key, uint8_t sc, const uint8_t *title, uint32_t ic,
                   const uint8_t *header, size_t header_len, const uint8_t *in, size_t in_len,
                   uint8_t *out, size_t out_cap, size_t *out_len)
{
    *out_len = 0;
    if (key == NULL || title == NULL || (in == NULL && in_len != 0) ||
        (header == NULL && header_len != 0) || in_len > INT_MAX - 64 || header_len > INT_MAX)
        return DM_ERR_BAD_ARGUMENT;
    const size_t need = HEAD + in_len + ((sc & SC_AUTH) ? DM_SEC_TAG_LEN : 0);
    if (out_cap < need)
        return DM_ERR_NO_SPACE;
    int rc = seal_content(key, sc, title, ic, header, header_len, in, in_len, out);
    if (rc != DM_OK) {
        OPENSSL_cleanse(out, need);
        return rc;
    }
    *out_len = need;
    return DM_OK;
}

int dm_secure_open(dm_secure_key *key, const uint8_t *title, const uint8_t *content,
                   size_t content_len, const uint8_t *header, size_t header_len, uint8_t *out,
                   size_t out_cap, size_t *out_len)
{
    *out_len = 0;
    if (key == NULL || title == NULL || content == NULL || (header == NULL && header_len != 0) ||
        content_len > INT_MAX || header_len > INT_MAX)
        return DM_ERR_BAD_ARGUMENT;
    if (content_len < HEAD || ((content[0] & SC_AUTH) && content_len < HEAD + DM_SEC_TAG_LEN))
        return DM_ERR_TRUNCATED;
    if (out_cap < content_len - HEAD)
        return DM_ERR_NO_SPACE;
    return open_content(key, title, content, content_len, header, header_len, out, out_len);
}

/* ---------------------------------------------------------------------- */
/* batches                                                                 */
/* ---------------------------------------------------------------------- */

static const dm_secure_peer *find_peer(const dm_secure_peer *peers, size_t npeers,
                                       const uint8_t *title, size_t *index)
{
    size_t lo = 0, hi = npeers;
    while (lo < hi) {
        const size_t mid = lo + (hi - lo) / 2;
        const int c = memcmp(peers[mid].title, title, 8);
        if (c == 0) {
            *index = mid;
            return &peers[mid];
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* Everything after parsing for one frame of a batch: sender, checks, key,
 * GCM, and the tag consistency of service-specific APDUs. */
static int open_frame(const dm_secure_peer *peers, size_t npeers, size_t default_peer,
                      const uint8_t *frame, const dm_secure_frame *f, uint8_t *out,
                      dm_secure_item *item, size_t *err)
{
    const dm_secure_peer *peer = NULL;
    const uint8_t *title;
    size_t index = NO_PEER;
    if (f->kind == DM_SEC_GENERAL_SIGNING || f->key_info == DM_SEC_KEY_INFO_WRAPPED ||
        f->key_info == DM_SEC_KEY_INFO_AGREED)
        return DM_SEC_DEFERRED;

    if (f->title_len == 8) {
        title = frame + f->title;
        if (npeers == 1 && (peers[0].flags & DM_SEC_ANY_TITLE)) {
            peer = &peers[0];
            index = 0;
        } else if ((peer = find_peer(peers, npeers, title, &index)) == NULL) {
            FAIL(DM_ERR_SEC_NO_KEY, f->title);
        }
    } else {
        if (default_peer >= npeers)
            FAIL(DM_ERR_SEC_NO_TITLE, 0);
        peer = &peers[default_peer];
        index = default_peer;
        if (peer->flags & DM_SEC_UNTITLED)
            FAIL(DM_ERR_SEC_NO_TITLE, 0);
        title = peer->title;
    }
    item->peer = (uint32_t)index;

    const uint32_t sc = f->sc;
    if ((sc & SC_COMPRESSED) || (sc & (SC_AUTH | SC_ENC)) == 0)
        FAIL(DM_ERR_SEC_CONTROL, f->content);
    if ((sc & SC_SUITE) != peer->suite)
        FAIL(DM_ERR_SEC_SUITE, f->content);
    if (peer->required & ~sc & (SC_AUTH | SC_ENC))
        FAIL(DM_ERR_SEC_POLICY, f->content);

    dm_secure_key *key;
    if (f->kind == DM_SEC_SERVICE_DED || f->kind == DM_SEC_GENERAL_DED) {
        if (sc & SC_BROADCAST)
            FAIL(DM_ERR_SEC_CONTROL, f->content);
        key = peer->dedicated;
        item->key_set = DM_SEC_KEY_DEDICATED;
    } else if (f->key_info == DM_SEC_KEY_INFO_IDENTIFIED) {
        if (f->key_id > 1)
            FAIL(DM_ERR_SEC_NO_KEY, f->content);
        key = f->key_id == 0 ? peer->unicast : peer->broadcast;
        item->key_set = f->key_id == 0 ? DM_SEC_KEY_UNICAST : DM_SEC_KEY_BROADCAST;
    } else {
        key = (sc & SC_BROADCAST) ? peer->broadcast : peer->unicast;
        item->key_set = (sc & SC_BROADCAST) ? DM_SEC_KEY_BROADCAST : DM_SEC_KEY_UNICAST;
    }
    if (key == NULL || ((sc & SC_AUTH) && !key->has_ak))
        FAIL(DM_ERR_SEC_NO_KEY, f->content);

    const int header_aad =
        f->kind == DM_SEC_GENERAL_CIPHERING && (peer->flags & DM_SEC_HEADER_AAD) != 0;
    size_t plain_len;
    int rc = open_content(key, title, frame + f->content, f->content_len,
                          header_aad ? frame + f->header : NULL, header_aad ? f->header_len : 0,
                          out, &plain_len);
    if (rc == DM_ERR_SEC_AUTH)
        FAIL(rc, (size_t)f->content + f->content_len - DM_SEC_TAG_LEN);
    if (rc != DM_OK)
        FAIL(rc, f->content);
    if (f->kind == DM_SEC_SERVICE_GLO || f->kind == DM_SEC_SERVICE_DED) {
        /* the tag is not authenticated: only the APDU inside says what it is */
        unsigned plain = 0;
        service_kind(f->tag, &plain);
        if (plain_len == 0 || out[0] != plain) {
            OPENSSL_cleanse(out, plain_len);
            FAIL(DM_ERR_SEC_MISMATCH, 0);
        }
    }
    item->plain_len = (uint32_t)plain_len;
    return DM_OK;
}

int64_t dm_secure_open_batch(const dm_secure_peer *peers, size_t npeers, size_t default_peer,
                             const uint8_t *in, const uint32_t *offsets, size_t n, uint8_t *out,
                             size_t out_cap, dm_secure_item *items)
{
    int64_t ok = 0;
    /* offsets[n] <= INT_MAX: every length handed to EVP (an int) fits */
    if ((peers == NULL && npeers != 0) || offsets == NULL || (items == NULL && n != 0) ||
        (in == NULL && n != 0) || (out == NULL && n != 0) || offsets[n] > out_cap ||
        offsets[n] > INT_MAX || npeers > 0xFFFFFFF0u)
        return DM_ERR_BAD_ARGUMENT;
    for (size_t i = 0; i < n; i++)
        if (offsets[i] > offsets[i + 1])
            return DM_ERR_BAD_ARGUMENT;
    for (size_t i = 1; i < npeers; i++)
        if (memcmp(peers[i - 1].title, peers[i].title, 8) >= 0)
            return DM_ERR_BAD_ARGUMENT;

    for (size_t i = 0; i < n; i++) {
        dm_secure_item *item = &items[i];
        const uint8_t *frame = in + offsets[i];
        dm_secure_frame f;
        size_t err = 0;
        memset(item, 0, sizeof *item);
        item->peer = NO_PEER;
        item->plain = offsets[i];
        int rc = dm_secure_parse(frame, offsets[i + 1] - offsets[i], &f, &err);
        if (rc == DM_OK) {
            item->tag = f.tag;
            item->sc = f.sc;
            item->ic = f.ic;
            rc = open_frame(peers, npeers, default_peer, frame, &f, out + offsets[i], item, &err);
        }
        item->status = rc;
        item->err_offset = (uint32_t)err;
        if (rc == DM_OK)
            ok++;
    }
    return ok;
}

int64_t dm_secure_seal_batch(dm_secure_key *key, uint8_t sc, const uint8_t *title,
                             uint32_t first_ic, int framing, const uint8_t *in,
                             const uint32_t *offsets, size_t n, uint8_t *out, size_t out_cap,
                             uint32_t *out_offsets, size_t *err_index)
{
    size_t pos = 0;
    *err_index = 0;
    if (key == NULL || title == NULL || offsets == NULL || out_offsets == NULL ||
        (in == NULL && n != 0) || framing < DM_SEC_FRAME_CONTENT ||
        framing > DM_SEC_FRAME_GENERAL_DED || (n != 0 && (uint64_t)first_ic + (n - 1) > 0xFFFFFFFFu))
        return DM_ERR_BAD_ARGUMENT;
    const size_t trailer = (sc & SC_AUTH) ? DM_SEC_TAG_LEN : 0;
    out_offsets[0] = 0;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *apdu = in + offsets[i];
        *err_index = i;
        if (offsets[i] > offsets[i + 1])
            return DM_ERR_BAD_ARGUMENT;
        const size_t len = offsets[i + 1] - offsets[i];
        const size_t content_len = HEAD + len + trailer;
        if (len > INT_MAX - 64 || content_len > 0xFFFFFFFFu - 32)
            return DM_ERR_BAD_ARGUMENT;
        uint8_t head[16];
        size_t h = 0;
        if (framing == DM_SEC_FRAME_GLO || framing == DM_SEC_FRAME_DED) {
            unsigned plain = 0;
            const unsigned want = len == 0 ? 0 : apdu[0];
            for (size_t k = 0; k < sizeof PLAIN_TAGS; k++)
                if (len != 0 && PLAIN_TAGS[k] == want)
                    plain = want;
            if (plain == 0)
                return DM_ERR_SEC_TAG;
            head[h++] = (uint8_t)(framing == DM_SEC_FRAME_GLO ? glo_tag(plain) : ded_tag(plain));
        } else if (framing != DM_SEC_FRAME_CONTENT) {
            head[h++] = framing == DM_SEC_FRAME_GENERAL_GLO ? 0xDB : 0xDC;
            head[h++] = 8;
        }
        if (framing == DM_SEC_FRAME_GENERAL_GLO || framing == DM_SEC_FRAME_GENERAL_DED) {
            memcpy(head + h, title, 8);
            h += 8;
        }
        if (framing != DM_SEC_FRAME_CONTENT) {
            h += dm_axdr_put_length(head + h, content_len);
        }
        if (out_cap - pos < h + content_len || pos + h + content_len > 0xFFFFFFFFu)
            return DM_ERR_NO_SPACE;
        memcpy(out + pos, head, h);
        int rc = seal_content(key, sc, title, first_ic + (uint32_t)i, NULL, 0, apdu, len,
                              out + pos + h);
        if (rc != DM_OK) {
            OPENSSL_cleanse(out + pos, h + content_len);
            return rc;
        }
        pos += h + content_len;
        out_offsets[i + 1] = (uint32_t)pos;
    }
    return (int64_t)pos;
}

/* ---------------------------------------------------------------------- */
/* one frame of an association                                             */
/* ---------------------------------------------------------------------- */

int64_t dm_secure_open_glo(const dm_secure_peer *peer, const uint8_t *frame, size_t frame_len,
                           char *out, size_t out_cap)
{
    dm_secure_frame f;
    dm_secure_item item;
    size_t err = 0;
    if (peer == NULL || frame == NULL || out == NULL || frame_len > out_cap || frame_len > 0xFFFFu)
        return DM_ERR_BAD_ARGUMENT;
    int rc = dm_secure_parse(frame, frame_len, &f, &err);
    if (rc != DM_OK)
        return rc;
    /* a broadcast-key glo- frame is a group request: not this road */
    if (f.kind != DM_SEC_SERVICE_GLO || (f.sc & SC_BROADCAST) != 0)
        return DM_ERR_SEC_TAG;
    memset(&item, 0, sizeof item);
    rc = open_frame(peer, 1, 0, frame, &f, (uint8_t *)out, &item, &err);
    if (rc != DM_OK)
        return rc < 0 ? rc : DM_ERR_SEC_TAG;
    if (item.key_set != DM_SEC_KEY_UNICAST) {
        OPENSSL_cleanse(out, item.plain_len);
        return DM_ERR_SEC_TAG;
    }
    /* below 2^56: never negative */
    return (int64_t)((uint64_t)item.plain_len | (uint64_t)(f.sc & 0xFFu) << 16 | (uint64_t)f.ic << 24);
}

int64_t dm_secure_seal_one(dm_secure_key *key, uint8_t sc, const uint8_t *title, uint32_t ic,
                           int framing, const uint8_t *apdu, size_t apdu_len, char *out,
                           size_t out_cap)
{
    uint32_t offsets[2], out_offsets[2];
    size_t err_index = 0;
    if (apdu_len > 0xFFFFFFFFu - 64)
        return DM_ERR_BAD_ARGUMENT;
    offsets[0] = 0;
    offsets[1] = (uint32_t)apdu_len;
    return dm_secure_seal_batch(key, sc, title, ic, framing, apdu, offsets, 1, (uint8_t *)out,
                                out_cap, out_offsets, &err_index);
}
