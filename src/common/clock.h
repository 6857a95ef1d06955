/* clock.h - wall-clock time in milliseconds since the Unix epoch. */
#ifndef WSS_COMMON_CLOCK_H
#define WSS_COMMON_CLOCK_H

long long wss_wall_ms(void);

#endif
