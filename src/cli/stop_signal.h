/* stop_signal.h - running a server in the foreground until SIGINT or SIGTERM. */
#ifndef WSS_CLI_STOP_SIGNAL_H
#define WSS_CLI_STOP_SIGNAL_H

/* Call before starting any thread: blocks SIGINT and SIGTERM so that every
 * thread started afterwards inherits the block and only the waiting thread
 * takes them. */
void cli_stop_signal_block(void);

/* Waits until SIGINT or SIGTERM arrives (with no race against an early one). */
void cli_stop_signal_wait(void);

#endif
