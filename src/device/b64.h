/* b64.h - standard Base64 (RFC 4648, section 4, with padding) for the device.
 *
 * Used for the keys in storage, the DSS signatures, the passphrase and the
 * association report's signature. No allocation. */
#ifndef WSS_DEVICE_B64_H
#define WSS_DEVICE_B64_H

#include <stddef.h>
#include <stdint.h>

/* The characters of the standard alphabet, index = 6-bit value. */
extern const char wss_dev_b64_alphabet[65];

/* Encodes len bytes into out with padding and a NUL. Returns 0, or -1 when
 * out (cap bytes) cannot hold (len + 2) / 3 * 4 + 1 bytes (out is then ""). */
int wss_dev_b64_encode(const void *in, size_t len, char *out, size_t cap);

/* Decodes exactly len characters. Strict: the length is a multiple of 4,
 * only the alphabet and at most two trailing '=' appear, the bits the padding
 * drops are zero, and no whitespace. Returns 0 and sets *out_len, or -1
 * (malformed, or more than cap bytes would come out). */
int wss_dev_b64_decode(const char *in, size_t len, uint8_t *out, size_t cap, size_t *out_len);

#endif
