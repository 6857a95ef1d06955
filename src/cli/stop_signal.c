/* stop_signal.c - waiting for SIGINT/SIGTERM with the signals blocked in
 * every other thread, so none slips in between a check and a wait. */
#include "cli/stop_signal.h"

#include <pthread.h>
#include <signal.h>

static sigset_t old_mask;
static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

void cli_stop_signal_block(void)
{
    sigset_t stop_set;
    sigemptyset(&stop_set);
    sigaddset(&stop_set, SIGINT);
    sigaddset(&stop_set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_set, &old_mask);
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

void cli_stop_signal_wait(void)
{
    while (!stop_requested)
        sigsuspend(&old_mask);
}
