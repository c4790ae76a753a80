/*
 * Frames above the caller, for traces of more than one frame, and their
 * names.
 *
 * Unwinding walks frame pointers, chosen by measurement (BENCHMARKS.md,
 * "Unwinding for traces"): 16 frames from a 25-deep recursion cost 34 ns
 * this way, 170-190 ns with libunwind's unw_backtrace and 3.5-4.6 us with
 * glibc's backtrace(); only the walk fits issue 8's budget of 4x the untraced
 * create-and-free time.  The walk starts at the frame of the public entry
 * point that is running (state.entry_frame, which its *_at function
 * records), so rcgc's own frames below it cost nothing to skip; the library
 * is compiled with -fno-omit-frame-pointer (CMakeLists.txt) so that a walk
 * from a finalizer or callback that allocates passes through the frames of
 * rcgc above it to the user's.  Callers need frame pointers too: a
 * function compiled without them leaves its caller's frame pointer in
 * place, so the walk misses its caller's frame (the pcs it gives stay
 * right), or uses the register for data, which ends the walk at once or, if
 * the data looks like a frame on the stack, gives a few wrong pcs.
 *
 * The walk is safe against any chain: it runs only on the thread's own
 * stack (pthread_getattr_np, looked up once per thread; not on a
 * coroutine's or a signal stack), and every frame pointer it follows must
 * be aligned, above the previous one and below the top of that stack, so
 * every read is of live stack; the first that is not ends the walk.
 *
 * Symbolization reads the debug information with libdw (elfutils) when the
 * build has it (RCGC_HAVE_LIBDW): function from the symbol table, file and
 * line from DWARF line tables; otherwise function names come from dladdr,
 * which knows only exported symbols.  Each pc is resolved once; the answers
 * are kept in a ptrmap in rcgc's own memory (state.symbols), so a report
 * that prints a frame a thousand times resolves it once.  libdw's Dwfl is
 * opened at the first lookup and kept (state.dwfl) until
 * rcgc__symbolize_forget, which also runs at exit.
 */
#define _GNU_SOURCE   /* dladdr, pthread_getattr_np */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef RCGC_HAVE_LIBDW
#include <elfutils/libdwfl.h>
#endif

#include "internal.h"
#include "unwind.h"

/* ---- unwinding -------------------------------------------------------------------- */

#if defined(__x86_64__) || defined(__i386__) || defined(__aarch64__)
/* Frame records there: fp[0] the caller's frame pointer, fp[1] the return
   address. */

/* This thread's stack, [stack_low, stack_top): looked up once per thread;
   both NULL when it cannot be known (then nothing is unwound). */
static _Thread_local char *stack_low, *stack_top;
static _Thread_local bool stack_looked_up;

static void look_up_stack(void)
{
    stack_looked_up = true;
    pthread_attr_t attr;
    void *low;
    size_t size;
    if (pthread_getattr_np(pthread_self(), &attr) != 0) return;
    if (pthread_attr_getstack(&attr, &low, &size) == 0) {
        stack_low = low;
        stack_top = (char *)low + size;
    }
    pthread_attr_destroy(&attr);
}

/* A frame pointer that may be followed: aligned, above `above`, and with
   its two words (saved frame pointer, return address) below the top. */
static inline bool frame_ok(const void *fp, const void *above, const char *top)
{
    return ((uintptr_t)fp & (sizeof(void *) - 1)) == 0 && (const char *)fp > (const char *)above &&
           (const char *)fp + 2 * sizeof(void *) <= top;
}

int rcgc__unwind(void **pcs, int max)
{
    void **fp = state()->entry_frame;
    char *here = __builtin_frame_address(0);
    if (__builtin_expect(!stack_looked_up, 0)) look_up_stack();
    char *top = stack_top;
    int n = 0;
    /* Running on another stack than the thread's (a coroutine's, a signal
       handler's), nothing says which addresses above here are mapped. */
    if (max <= 0 || !fp || here < stack_low || here >= top || !frame_ok(fp, here, top))
        return 0;
    /* fp is the entry point's frame: fp[1] returns into its caller, frame 0
       of the traceback (the header's macros named it); fp[0] is that
       caller's frame, whose return address is the first pc wanted. */
    for (;;) {
        void **next = fp[0];
        if (!frame_ok(next, fp, top)) break;
        void *pc = next[1];
        if (!pc) break;
        pcs[n++] = pc;
        if (n == max) break;
        fp = next;
    }
    return n;
}
#else
int rcgc__unwind(void **pcs, int max)
{
    (void)pcs, (void)max;   /* frame records laid out otherwise: not yet */
    return 0;
}
#endif

/* ---- symbolization ------------------------------------------------------------------ */

/* One resolved pc: func, then file, each NUL-terminated, in text. */
typedef struct symbol {
    bool found;
    int line;
    size_t file_at;      /* offset of file in text */
    char text[];
} symbol;

bool rcgc__symbolize_has_lines(void)
{
#ifdef RCGC_HAVE_LIBDW
    return true;
#else
    return false;
#endif
}

#ifdef RCGC_HAVE_LIBDW
static const Dwfl_Callbacks dwfl_callbacks = {
    .find_elf = dwfl_linux_proc_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
};

/* Report the modules mapped now; true if the report could be made (a
   module that cannot be read is simply not known). */
static bool dwfl_report_process(Dwfl *dwfl, bool again)
{
    if (again)
        dwfl_report_begin_add(dwfl);
    else
        dwfl_report_begin(dwfl);
    (void)dwfl_linux_proc_report(dwfl, getpid());
    return dwfl_report_end(dwfl, NULL, NULL) == 0;
}

/* libdw's tables hold pointers into the middle of its blocks, which
   valgrind counts as "possibly lost" (an error by default) if they are
   still there at exit: so they are not. */
static void forget_symbols_of(rcgc_state *S, void *arg)
{
    (void)arg;
    rcgc__as_current(S, rcgc__symbolize_forget);
}

static void close_at_exit(void)
{
    rcgc__each_heap(forget_symbols_of, NULL);   /* every heap's libdw */
}

static pthread_once_t exit_handler_once = PTHREAD_ONCE_INIT;
static void set_exit_handler(void) { (void)atexit(close_at_exit); }

static Dwfl *process_dwfl(rcgc_state *S)
{
    if (S->dwfl || S->dwfl_failed) return S->dwfl;
    pthread_once(&exit_handler_once, set_exit_handler);
    S->dwfl = dwfl_begin(&dwfl_callbacks);
    if (S->dwfl && !dwfl_report_process(S->dwfl, false)) {
        dwfl_end(S->dwfl);
        S->dwfl = NULL;
    }
    S->dwfl_failed = !S->dwfl;
    return S->dwfl;
}

/* dwfl_module_getsrc finds the compilation unit through .debug_aranges,
   which clang does not write unless asked (-gdwarf-aranges): then ask each
   unit whether it holds addr. */
static const char *line_from_units(Dwfl_Module *mod, uintptr_t addr, int *lineno)
{
    Dwarf_Addr bias;
    for (Dwarf_Die *cu = NULL; (cu = dwfl_module_nextcu(mod, cu, &bias));) {
        if (dwarf_haspc(cu, addr - bias) <= 0) continue;
        Dwarf_Line *l = dwarf_getsrc_die(cu, addr - bias);
        if (!l || dwarf_lineno(l, lineno) != 0) return NULL;
        return dwarf_linesrc(l, NULL, NULL);
    }
    return NULL;
}

/* Function, file and line from the debug information. */
static void resolve_dwfl(rcgc_state *S, uintptr_t addr, const char **func, const char **file,
                         int *line)
{
    Dwfl *dwfl = process_dwfl(S);
    if (!dwfl) return;
    Dwfl_Module *mod = dwfl_addrmodule(dwfl, addr);
    if (!mod) {
        /* Perhaps a library loaded since the report: report again, but
           only for an address that some loaded object holds. */
        Dl_info info;
        if (!dladdr((void *)addr, &info) || !dwfl_report_process(dwfl, true)) return;
        mod = dwfl_addrmodule(dwfl, addr);
        if (!mod) return;
    }
    *func = dwfl_module_addrname(mod, addr);
    Dwfl_Line *l = dwfl_module_getsrc(mod, addr);
    int lineno = 0;
    const char *src = l ? dwfl_lineinfo(l, NULL, &lineno, NULL, NULL, NULL) : NULL;
    if (!src) src = line_from_units(mod, addr, &lineno);
    if (src) {
        *file = src;
        *line = lineno;
    }
}
#endif

/* Resolve pc from scratch into a new symbol (rcgc's own memory), or into
   *tmp when that memory is refused. */
static symbol *resolve(rcgc_state *S, const void *pc, symbol *tmp, size_t tmp_cap)
{
    uintptr_t addr = (uintptr_t)pc - 1;   /* inside the call, not after it */
    const char *func = NULL, *file = NULL;
    int line = 0;
#ifdef RCGC_HAVE_LIBDW
    resolve_dwfl(S, addr, &func, &file, &line);
#else
    (void)S;
#endif
    Dl_info info;
    if (!func && dladdr((void *)addr, &info) && info.dli_sname) func = info.dli_sname;
    if (!file) line = 0;
    size_t func_len = func ? strlen(func) : 0, file_len = file ? strlen(file) : 0;
    size_t need = sizeof(symbol) + func_len + file_len + 2;
    symbol *s = rcgc__own_calloc(need);
    if (!s) {
        /* Not kept: answer from tmp, names cut to what it holds. */
        s = tmp;
        size_t room = tmp_cap - sizeof(symbol) - 2;
        if (func_len > room / 2) func_len = room / 2;
        if (file_len > room - func_len) file_len = room - func_len;
    }
    s->found = func != NULL;
    s->line = line;
    if (func_len) memcpy(s->text, func, func_len);
    s->text[func_len] = '\0';
    s->file_at = func_len + 1;
    if (file_len) memcpy(s->text + s->file_at, file, file_len);
    s->text[s->file_at + file_len] = '\0';
    return s;
}

static void copy_out(char *dst, size_t cap, const char *src)
{
    if (cap) snprintf(dst, cap, "%s", src);
}

int rcgc__symbolize(const void *pc, char *func, size_t func_cap, char *file, size_t file_cap,
                    int *line)
{
    rcgc_state *S = state();
    copy_out(func, func_cap, "");
    copy_out(file, file_cap, "");
    if (line) *line = 0;
    if ((uintptr_t)pc < 2) {   /* 0, or a pc of 1 that would look up address 0 */
        errno = ENOENT;
        return -1;
    }
    union { symbol s; char bytes[sizeof(symbol) + 1024]; } tmp;
    ptrmap_slot *slot = ptrmap_find(&S->symbols, pc);
    symbol *s = slot ? slot->value : NULL;
    bool drop = false;   /* s is own memory that the map did not take */
    if (!s) {
        s = resolve(S, pc, &tmp.s, sizeof tmp);
        drop = s != &tmp.s && !ptrmap_put(&S->symbols, pc, s);
    }
    int result = 0;
    if (s->found) {
        copy_out(func, func_cap, s->text);
        copy_out(file, file_cap, s->text + s->file_at);
        if (line) *line = s->line;
    } else {
        result = -1;
    }
    if (drop) rcgc__own_free(s);
    if (result) errno = ENOENT;
    return result;
}

void rcgc__symbolize_forget(void)
{
    rcgc_state *S = state();
    PTRMAP_FOREACH(&S->symbols, slot) rcgc__own_free(slot->value);
    ptrmap_free(&S->symbols);
#ifdef RCGC_HAVE_LIBDW
    if (S->dwfl) dwfl_end(S->dwfl);
#endif
    S->dwfl = NULL;
    S->dwfl_failed = false;
}
