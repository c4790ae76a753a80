/*
 * Writes the monitor's page (rcgc_monitor_write_html) for the browser test:
 * 60 requests of tests/monitor_requests.h's loop, each leaking one closure,
 * one sample a request, a young collection every 10 requests and a full one
 * every 25.  Usage: monitor_page OUT.html
 */
#include <stdio.h>

#include "monitor_requests.h"

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s OUT.html\n", argv[0]);
        return 2;
    }
    requests r;
    requests_begin(&r);
    for (int k = 1; k <= 60; k++) {
        requests_sampled(&r, 1, LEAK_CLOSURE);
        if (k % 10 == 0) rcgc_collect(0);
        if (k % 25 == 0) rcgc_collect(2);
    }
    int rc = rcgc_monitor_write_html(argv[1]);
    if (rc != 0) perror(argv[1]);
    requests_end(&r);
    return rc == 0 ? 0 : 1;
}
