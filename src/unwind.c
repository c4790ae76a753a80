/*
 * Frames above the caller, for traces of more than one frame, and their
 * names.  This first version finds no frames (traces keep their first,
 * the site the header's macros give) and names a pc with dladdr.
 */
#define _GNU_SOURCE   /* dladdr */
#include <dlfcn.h>
#include <stdio.h>

#include "internal.h"

int rcgc__unwind(void **pcs, int max)
{
    (void)pcs, (void)max;
    return 0;
}

int rcgc__symbolize(const void *pc, char *func, size_t func_cap, char *file, size_t file_cap,
                    int *line)
{
    Dl_info info;
    if (!pc || !dladdr(pc, &info) || !info.dli_sname) return -1;
    snprintf(func, func_cap, "%s", info.dli_sname);
    if (file_cap) file[0] = '\0';
    if (line) *line = 0;
    return 0;
}
