/* example.c - a program built only from an installed openwss: it starts the
 * emulator in-process on a free loopback port, prints its URL and stops it. */
#include <stdio.h>
#include <stdlib.h>

#include <wss/sim.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: example STATE_DIR\n");
        return 2;
    }
    wss_sim_options opts = {.state_dir = argv[1], .listen = "127.0.0.1:0"};
    wss_sim *sim = NULL;
    char err[512];
    wss_err rc = wss_sim_start(&opts, &sim, err, sizeof err);
    if (rc != WSS_OK) {
        fprintf(stderr, "example: %s (%s)\n", err, wss_strerror(rc));
        return 1;
    }
    printf("%s\n", wss_sim_base_url(sim));
    wss_sim_stop(sim);
    /* The emulator must have described itself; fail loudly when it did not. */
    char path[4200];
    snprintf(path, sizeof path, "%s/credentials.json", argv[1]);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "example: FAIL: %s was not written\n", path);
        return 1;
    }
    fclose(f);
    return 0;
}
