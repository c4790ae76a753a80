/*
 * How the collector reports to the program: lines to the output sink (its
 * debug lines, and every tool's printed report), uncollectable objects to
 * the garbage list, and the start and stop of each collection to the
 * registered callbacks.  collect.c calls these; gcmodule.c, the surface,
 * only sets the sink, registers callbacks and reads or clears the list.
 *
 * Invariants:
 *  - the garbage list holds one strong reference per entry;
 *  - every line reaches the sink whole, with its newline, in one call;
 *  - the sink and the callbacks are user code and may call back into rcgc
 *    (see docs/reentrancy.md): nothing here holds a cursor into a table they
 *    may change without re-reading it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"

/* ---- output ---------------------------------------------------------------- */

/* One whole line per call, however long (type names are the user's).  The
   rare long line goes through libc, not rcgc's books: it is gone before the
   call returns.  If even that fails, the line is cut but keeps its newline. */
static void vprint_to(rcgc_write_fn out, void *arg, const char *fmt, va_list ap)
{
    char small[512], *line = small;
    va_list again;
    va_copy(again, ap);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    if (n >= (int)sizeof small) {
        char *big = malloc((size_t)n + 1);
        if (big) {
            vsnprintf(big, (size_t)n + 1, fmt, again);
            line = big;
        } else {
            small[sizeof small - 2] = '\n';
        }
    }
    va_end(again);
    rcgc_state *S = state();
    if (!out) {
        out = S->output;
        arg = S->output_arg;
    }
    if (out) {
        S->calling_out++;
        out(line, arg);
        S->calling_out--;
    } else {
        fputs(line, stderr);
        fflush(stderr);
    }
    if (line != small) free(line);
}

void rcgc__print_to(rcgc_write_fn out, void *arg, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprint_to(out, arg, fmt, ap);
    va_end(ap);
}

void rcgc__printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprint_to(NULL, NULL, fmt, ap);
    va_end(ap);
}

/* ---- the garbage list -------------------------------------------------------- */

int rcgc__garbage_append(void *obj)
{
    rcgc_state *S = state();
    if (rcgc__reserve(&S->garbage, &S->garbage_cap, &S->garbage_len,
                      sizeof *S->garbage, 16) != 0)
        return -1;
    rcgc_incref(obj);
    S->garbage[S->garbage_len++] = obj;
    return 0;
}

void rcgc__garbage_clear(void)
{
    rcgc_state *S = state();
    /* Detach first: decrefs run user code that may append to the list. */
    void **items = S->garbage;
    size_t len = S->garbage_len, cap = S->garbage_cap;
    S->garbage = NULL;
    S->garbage_len = S->garbage_cap = 0;
    for (size_t i = 0; i < len; i++) rcgc_decref(items[i]);
    rcgc__free(items, cap * sizeof *items);
}

/* ---- callbacks --------------------------------------------------------------- */

void rcgc__invoke_callbacks(rcgc_phase phase, int generation, size_t collected,
                            size_t uncollectable)
{
    rcgc_state *S = state();
    rcgc_gc_info info = {generation, collected, uncollectable};
    /* Index over the live array, as CPython iterates gc.callbacks: a callback
       that removes itself shifts the rest, and one added now also runs. */
    for (size_t i = 0; i < S->callbacks_len; i++) {
        callback_entry c = S->callbacks[i];
        c.fn(phase, &info, c.arg);
    }
}
