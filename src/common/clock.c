/* clock.c - wall-clock milliseconds, the unit every openwss store keeps times in. */
#include "common/clock.h"

#include <stddef.h>
#include <sys/time.h>

long long wss_wall_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}
