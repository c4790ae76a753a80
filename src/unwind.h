/*
 * Stack unwinding and symbolization for traces of more than one frame
 * (unwind.c explains the choices; BENCHMARKS.md "Unwinding for traces" has
 * the measurements).  trace.h includes it for its users.
 */
#ifndef RCGC_UNWIND_H
#define RCGC_UNWIND_H

#include <stdbool.h>
#include <stddef.h>

/* The return addresses of the frames above the running public entry point
   (state.entry_frame, recorded by the *_at functions): pcs[0] is where the
   caller of that entry point's caller resumes, and so on outwards.  Fills
   at most max (max <= 0: none); returns how many.  0 when no entry frame is
   recorded. */
int rcgc__unwind(void **pcs, int max);

/* The function, file and line of pc, a return address as rcgc__unwind gives
   (the call before it is what is looked up).  0 when at least the function
   was found: func holds its name, file its source file (empty without debug
   information) and *line its line (0 then).  -1 + errno = ENOENT when
   nothing is known of pc (0, garbage, a stripped object), with func and
   file empty.  Never crashes on a bad pc.  Each pc is resolved once and
   cached in rcgc's own memory; when the cache cannot grow the answer is
   still given, just not kept.  func or file may be NULL with cap 0; line
   may be NULL. */
int rcgc__symbolize(const void *pc, char *func, size_t func_cap, char *file, size_t file_cap,
                    int *line);

/* Whether this build reads debug information (libdw) for files, lines and
   the names of functions the dynamic symbol table lacks. */
bool rcgc__symbolize_has_lines(void);

/* Forget every cached name and close the debug information (tests; a
   program that unloads a library). */
void rcgc__symbolize_forget(void);

#endif
