/* alexa.h - identifiers and vocabularies of Alexa messages, shared by the
 * emulator (which enforces them) and the maker cloud (which refuses bad input
 * before it reaches Amazon). */
#ifndef WSS_COMMON_ALEXA_H
#define WSS_COMMON_ALEXA_H

/* Longest device.id / endpointId accepted. */
#define WSS_ALEXA_ID_MAX 256
/* Longest header.messageId accepted. */
#define WSS_ALEXA_MESSAGE_ID_MAX 127

/* A character allowed in device.id / endpointId: a letter, a digit, a space
 * or one of  _ - = # ; : ? @ &  (the seed's SDAE field table). */
int wss_alexa_id_char(unsigned char c);

/* device.id / endpointId: 1..WSS_ALEXA_ID_MAX allowed characters. */
int wss_alexa_id_valid(const char *id);

/* header.messageId: 1..127 characters of [A-Za-z0-9-] and also '_' and '.'; the
 * public schema's pattern widened by the two characters common UUID-like ids use. */
int wss_alexa_message_id_valid(const char *id);

/* One of the Alexa display categories (the 49 values in the protocol notes). */
int wss_alexa_display_category_known(const char *category);

/* One of the generic Alexa.ErrorResponse payload types (INVALID_DIRECTIVE, NO_SUCH_ENDPOINT, ...). */
int wss_alexa_error_type_known(const char *type);

#endif
