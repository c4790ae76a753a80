/*
 * The heap's state: made on first use, reached through state() (state.h).
 */
#include "internal.h"
#include "profile.h"

rcgc_state rcgc__state;

void rcgc__state_init(void)
{
    rcgc_state *S = &rcgc__state;
    static const size_t thresholds[RCGC_NUM_GENERATIONS] = {700, 10, 10};
    for (int i = 0; i < RCGC_NUM_GENERATIONS; i++) {
        list_init(&S->generations[i].head);
        S->generations[i].threshold = thresholds[i];
        S->generations[i].count = 0;
    }
    list_init(&S->permanent);
    S->census_last = &S->census_none;
    S->enabled = true;
    S->initialized = true;
    rcgc__leak_report_setup();
    rcgc__trace_setup();
    rcgc__capture_setup();   /* RCGC_TRACE_FILE, after RCGC_TRACEMALLOC */
    S->monitor_on_full = rcgc__env_flag("RCGC_MONITOR");
}
