/* z85.h - Z85 (ZeroMQ RFC 32), the Base85 of the computed setup network's SSID.
 *
 * Four bytes, read big-endian, become five characters of its 85-character
 * alphabet (digits, letters, then ".-:+=^!/" and the rest of RFC 32's list).
 * No allocation; the caller owns every buffer. */
#ifndef WSS_DEVICE_Z85_H
#define WSS_DEVICE_Z85_H

#include <stddef.h>
#include <stdint.h>

/* Encodes len bytes (a multiple of 4) into out as len / 4 * 5 characters and
 * a NUL. Returns 0, or -1 when len is not a multiple of 4 or out (cap bytes)
 * is too small; out is then "" if cap > 0. */
int wss_z85_encode(const uint8_t *in, size_t len, char *out, size_t cap);

/* Decodes len characters (a multiple of 5) into out. Rejects (-1) a length
 * that is not a multiple of 5, a character outside the alphabet, a group
 * above 0xFFFFFFFF and an out buffer smaller than len / 5 * 4. Returns 0 and
 * sets *out_len on success. */
int wss_z85_decode(const char *in, size_t len, uint8_t *out, size_t cap, size_t *out_len);

#endif
