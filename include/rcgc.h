/*
 * rcgc — Python's memory model for C.
 *
 * Every managed object carries a reference count and is freed the moment the
 * count reaches zero; a generational cycle collector (CPython 3.12's algorithm
 * and thresholds) frees groups of objects that only keep each other alive.
 * Finalizers follow PEP 442, weak references carry callbacks, and the control
 * surface mirrors Python's `gc` module.  CPython 3.12 is the reference for every
 * behaviour; where C differs, docs/internals.md says why.
 *
 * Heaps and threads: every function acts on the calling thread's current
 * heap (see "Heaps" below).  A heap is used by one thread at a time; threads
 * that each enter a heap of their own run in parallel without locks.  A
 * program that never mentions heaps uses the process's default heap, which
 * any thread may use provided calls into it are serialized (one mutex), as
 * CPython's GIL serializes Python code.
 *
 * Errors: a function that can fail returns NULL or -1 and sets errno
 * (ENOMEM, EINVAL, ENOENT, ERANGE, EBUSY).  Nothing aborts on a failed
 * allocation.  A NULL out-parameter makes a call do nothing but set EINVAL.
 *
 * User code that rcgc calls (finalize, clear, destroy, traverse, callbacks,
 * the allocation hook, the output sink) may call back into rcgc; what each
 * may do is in docs/reentrancy.md.  It must return normally: leaving it with
 * longjmp or a C++ exception leaves the heap in an undefined state.
 * Builds configured with RCGC_DEBUG=ON abort on misuse (refcount below zero,
 * use of a freed object, a pointer that is not a managed object) with one line
 * naming the type, the address and the refcount.
 *
 * ABI policy.  Versions with the same major number are ABI-compatible: a
 * program compiled against x.y runs unchanged with any library x.z, z >= y
 * (the shared library's SONAME is librcgc.so.<major>).  Within a major
 * version these stay as they are:
 *  - the signature and meaning of every function, macro and type declared
 *    here and in rcgc_tools.h;
 *  - rcgc_type: its size (128 bytes on LP64), the offset and meaning of
 *    every field, and the rule that a zero field means "absent";
 *  - the object layout this header promises: the body pointer is what
 *    programs hold; the reference count (a size_t) sits at
 *    2 * sizeof(void *) before it and the type word (const rcgc_type *,
 *    its three low bits flags) at sizeof(void *) before it, so that inline
 *    fast paths compiled into programs stay valid;
 *  - debug (RCGC_DEBUG) and release builds of one version are
 *    interchangeable under a program: the debug build's extra header words
 *    sit further from the body than those two.
 * A minor version may add functions, macros and flag bits, and give a
 * reserved slot of rcgc_type a meaning (a new optional hook, for which zero
 * keeps today's behaviour).  Nothing is removed or reordered before the next
 * major version.  Internal names (rcgc__*, src/) are not part of the ABI.
 * The promise starts at 1.0.0 (this version); the 0.x releases broke it.
 */
#ifndef RCGC_H
#define RCGC_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The version, defined here only: CMakeLists.txt reads these three lines
   (project VERSION, the shared library's VERSION and SOVERSION). */
#define RCGC_VERSION_MAJOR 1
#define RCGC_VERSION_MINOR 0
#define RCGC_VERSION_PATCH 0
/* 0xMMmmpp, as rcgc_version() returns it: compare with >= */
#define RCGC_VERSION_HEX \
    ((RCGC_VERSION_MAJOR << 16) | (RCGC_VERSION_MINOR << 8) | RCGC_VERSION_PATCH)
#define RCGC_STRINGIFY_(x) #x
#define RCGC_STRINGIFY(x) RCGC_STRINGIFY_(x)
/* "1.0.0" */
#define RCGC_VERSION_STRING                                                   \
    RCGC_STRINGIFY(RCGC_VERSION_MAJOR) "." RCGC_STRINGIFY(RCGC_VERSION_MINOR) \
    "." RCGC_STRINGIFY(RCGC_VERSION_PATCH)

#if defined(__GNUC__) || defined(__clang__)
#define RCGC_API __attribute__((visibility("default")))
#else
#define RCGC_API
#endif

/* The version of the library running the program, which may be newer than
   the header it was compiled with: RCGC_VERSION_HEX's encoding, and the
   "major.minor.patch" string (static). */
RCGC_API unsigned rcgc_version(void);
RCGC_API const char *rcgc_version_string(void);

/* ------------------------------------------------------------------------- */
/* Objects                                                                   */
/* ------------------------------------------------------------------------- */

/* Called once for each strong reference an object holds; a non-zero return
   stops the traversal and is passed back by it. */
typedef int (*rcgc_visit_fn)(void *obj, void *arg);

/* A type describes a family of managed objects.  Types are usually static
   constants; they must outlive every object of the type, and must not
   change while objects of it exist (the object's size and which hooks it
   has are read again when it is freed).  Fill them with
   designated initializers, {.name = "node", .size = ..., .traverse = ...}:
   the fields left out are zero, which always means "absent", so a type
   written today stays right when a later minor version gives a reserved
   slot a meaning.  (Positional initializers work too, but -Wextra warns
   about the fields they leave out.) */
typedef struct rcgc_type {
    const char *name;  /* shown in reports: "gc: collectable <name 0x...>" */
    size_t size;       /* body bytes */
    /* Report each strong reference (non-NULL) with visit, returning visit's
       non-zero result at once (RCGC_VISIT does both).  NULL: the type holds no
       managed references and its objects are never tracked. */
    int (*traverse)(void *self, rcgc_visit_fn visit, void *arg);
    /* Drop every strong reference it holds (RCGC_CLEAR each field).  May run
       twice: once by the collector to break a cycle, once before destroy. */
    void (*clear)(void *self);
    /* Optional, like __del__: runs at most once per object, ever.  It may
       resurrect the object by storing a new strong reference to it. */
    void (*finalize)(void *self);
    /* Optional: release resources rcgc does not manage, just before the memory
       is freed.  A type with traverse but no clear drops its references here;
       a cycle of such objects is uncollectable (see rcgc_collect). */
    void (*destroy)(void *self);
    /* Optional: one line about this object, written into buf as snprintf
       does (at most size - 1 bytes and a NUL; size is 80 today), returning
       the length of the whole text (more than size - 1: rcgc shows it cut,
       ending in "...") or 0 / a negative number for none.  Debug-build
       misuse lines, the collector's RCGC_DEBUG_COLLECTABLE / UNCOLLECTABLE
       lines, why-alive chains, leak reports and rcgc_write_dot show it
       after the type name: <node "alpha" 0x...>.  It is called where
       things go wrong (an abort path, a tool run from a finalizer), so it
       must only read: the object, and rcgc's queries (rcgc_refcount,
       rcgc_typeof, rcgc_list_len/get, rcgc_dict_len/get); it must not
       allocate managed objects, change a count, or print.  Never called on
       an object whose count is zero (being torn down) or freed.  Control
       characters it writes are shown as '?'. */
    int (*describe)(const void *self, char *buf, size_t size);
    /* Optional: the name of the field of self that holds referent, which
       traverse reports as its index-th visit (0-based; either may be used),
       written and returned as by describe (size is 64 today): ".next",
       "[3]", "[\"key\"]".  Shown in why-alive chains and on rcgc_write_dot's
       edges; without it (or for none) they show the visit as "#index".  The
       same rules as describe. */
    int (*name_ref)(const void *self, const void *referent, size_t index, char *buf,
                    size_t size);
    /* Zero.  Later minor versions may give these a meaning, zero keeping
       today's behaviour. */
    void *reserved[8];
} rcgc_type;

/* Report `field` to the visitor if it is not NULL; use inside traverse. */
#define RCGC_VISIT(field)                                   \
    do {                                                    \
        if (field) {                                        \
            int rcgc_visit_result_ = visit((field), arg);   \
            if (rcgc_visit_result_) return rcgc_visit_result_; \
        }                                                   \
    } while (0)

/* RCGC_VISIT for a traverse whose parameters have other names than `visit`
   and `arg`, or for a helper that is handed the visitor. */
#define RCGC_VISIT_WITH(visit_fn, visit_arg, field)                      \
    do {                                                                 \
        if (field) {                                                     \
            int rcgc_visit_result_ = (visit_fn)((field), (visit_arg));   \
            if (rcgc_visit_result_) return rcgc_visit_result_;           \
        }                                                                \
    } while (0)

/* Set `field` to NULL, then drop the reference it held (Py_CLEAR). */
#define RCGC_CLEAR(field)                                   \
    do {                                                    \
        void *rcgc_clear_tmp_ = (void *)(field);            \
        if (rcgc_clear_tmp_) {                              \
            (field) = NULL;                                 \
            rcgc_decref(rcgc_clear_tmp_);                   \
        }                                                   \
    } while (0)

/* Store `value` (a reference the caller hands over) into `field`, then drop
   the reference `field` held (Py_SETREF / Py_XSETREF).  The field holds the
   new value before the old one is released, so a finalizer or weakref
   callback run by that release never reads a pointer to a dying object.
   Python's two names are kept so ported code reads the same; since
   rcgc_decref ignores NULL, both accept a field that holds NULL.  `field` is
   evaluated twice, `value` once. */
#define RCGC_SETREF(field, value)                                        \
    do {                                                                 \
        void *rcgc_setref_old_ = (void *)(field);                        \
        (field) = (value);                                               \
        rcgc_decref(rcgc_setref_old_);                                   \
    } while (0)
#define RCGC_XSETREF(field, value) RCGC_SETREF(field, value)

/* A new object with a zeroed body of type->size bytes and a refcount of 1,
   tracked by the collector if the type has traverse.  May run an automatic
   collection first.  NULL with errno = ENOMEM (out of memory) or EINVAL
   (NULL type). */
RCGC_API void *rcgc_new(const rcgc_type *type);

/* Allocation sites.  The functions that allocate (rcgc_new, the weakref and
   container constructors, rcgc_list_append, rcgc_dict_set and their
   *_steal forms) are macros that
   pass their caller's file, line and function to an rcgc_*_at function, so
   that tracing (rcgc_tools.h) attributes memory to the line that asked for
   it at no cost of unwinding.  The plain functions are exported too, for
   function pointers and other languages: (rcgc_new)(type), or define
   RCGC_NO_SITES before including this header.  file may be NULL (site
   unknown); the strings must outlive the program's tracing. */
RCGC_API void *rcgc_new_at(const rcgc_type *type, const char *file, int line,
                           const char *func);

RCGC_API void rcgc_incref(void *obj);
RCGC_API void rcgc_decref(void *obj);           /* NULL is ignored */
/* sys.getrefcount(obj) without the +1 of the argument itself. */
RCGC_API size_t rcgc_refcount(const void *obj);
RCGC_API const rcgc_type *rcgc_typeof(const void *obj);

/* Memory: every allocation rcgc makes (objects, container storage, internal
   tables) asks `allow` first; when it returns false the allocation fails with
   ENOMEM.  Use it to cap memory, to test failure paths, or to collect when
   memory runs short: `allow` may call any rcgc function, rcgc_collect
   included (every growing container reads itself afresh afterwards).  Only
   the deallocation path's own small queue does not ask.  NULL removes it. */
typedef bool (*rcgc_alloc_hook_fn)(size_t size, void *arg);
RCGC_API void rcgc_set_alloc_hook(rcgc_alloc_hook_fn allow, void *arg);
/* Bytes currently allocated by rcgc (as requested: headers, bodies, container
   storage, internal tables). */
RCGC_API size_t rcgc_memory_in_use(void);

/* ------------------------------------------------------------------------- */
/* The collector: Python's gc module                                         */
/* ------------------------------------------------------------------------- */

/* gc.collect(generation): collect generations 0..generation (2 = full).
   Returns the number of unreachable objects found (collected plus
   uncollectable, never resurrected ones).  0 with errno = EBUSY if a
   collection is already running (a call from a finalizer, clear, callback or
   allocation hook during one), as CPython does nothing then; 0 with
   errno = EINVAL for a generation outside 0..2. */
RCGC_API size_t rcgc_collect(int generation);

RCGC_API void rcgc_enable(void);
RCGC_API void rcgc_disable(void);
RCGC_API bool rcgc_isenabled(void);

/* Defaults 700, 10, 10 as in CPython.  t0 = 0 disables automatic collection. */
RCGC_API void rcgc_set_threshold(size_t t0, size_t t1, size_t t2);
RCGC_API void rcgc_get_threshold(size_t out[3]);
/* gc.get_count(): allocations minus deallocations of tracked-type objects
   since the last collection, then collections of the younger generation. */
RCGC_API void rcgc_get_count(size_t out[3]);

/* When automatic collections run.  RCGC_POLICY_CPYTHON (the default) is
   CPython 3.12's schedule, exactly: generation 0 every threshold[0]
   allocations, the older ones by their counts, full collections under the
   25 % rule; the same program makes the same collections in both.
   RCGC_POLICY_THROUGHPUT schedules each generation by what its collections
   find: its interval doubles after a collection that found no more than an
   eighth of what it looked at unreachable, and halves after one that found
   half or more.  Generation 0 waits 1 to 8 times threshold[0] allocations
   (up to 64 times while what it promotes dies young), generation 1 an
   eighth of to 64 times threshold[1] young collections, generation 2 an
   eighth of to 8 times threshold[2]; full collections keep the 25 % rule.
   Every garbage cycle is still found.  Setting a policy restarts its
   learning.  -1 + EINVAL for an unknown policy. */
typedef enum { RCGC_POLICY_CPYTHON = 0, RCGC_POLICY_THROUGHPUT = 1 } rcgc_policy;
RCGC_API int rcgc_set_policy(rcgc_policy policy);
RCGC_API rcgc_policy rcgc_get_policy(void);

#define RCGC_DEBUG_STATS         (1u << 0) /* one line per collection */
#define RCGC_DEBUG_COLLECTABLE   (1u << 1) /* each collectable object */
#define RCGC_DEBUG_UNCOLLECTABLE (1u << 2) /* each uncollectable object */
#define RCGC_DEBUG_SAVEALL       (1u << 5) /* keep garbage in the garbage list */
#define RCGC_DEBUG_LEAK \
    (RCGC_DEBUG_COLLECTABLE | RCGC_DEBUG_UNCOLLECTABLE | RCGC_DEBUG_SAVEALL)
RCGC_API void rcgc_set_debug(unsigned flags);
RCGC_API unsigned rcgc_get_debug(void);

/* Where debug lines go (each call gets one whole line, newline included);
   NULL: stderr. */
typedef void (*rcgc_write_fn)(const char *text, void *arg);
RCGC_API void rcgc_set_output(rcgc_write_fn fn, void *arg);

/* gc.garbage: objects found unreachable but not freed, either because they
   form a cycle no clear can break (uncollectable) or under DEBUG_SAVEALL.
   The list holds a strong reference to each. */
RCGC_API size_t rcgc_garbage_count(void);
RCGC_API void *rcgc_garbage_get(size_t i);      /* borrowed; NULL + ERANGE */
RCGC_API void rcgc_garbage_clear(void);          /* drops the references */

typedef struct {
    size_t collections, collected, uncollectable;
} rcgc_gen_stats;
/* gc.get_stats()[generation]; zeroes and EINVAL for a bad generation. */
RCGC_API void rcgc_get_stats(int generation, rcgc_gen_stats *out);

RCGC_API bool rcgc_is_tracked(const void *obj);
RCGC_API bool rcgc_is_finalized(const void *obj);
/* Start / stop tracking an object of a type with traverse (no-op otherwise).
   rcgc_track puts it at the young end of generation 0.  Refused (EINVAL; a
   misuse abort in debug builds) for an object whose count is zero, which is
   being torn down: from its own clear or destroy, say. */
RCGC_API void rcgc_track(void *obj);
RCGC_API void rcgc_untrack(void *obj);

/* Call fn for each object tracked in `generation` (-1: all three, not the
   frozen ones) when the call starts.  The objects are gathered first, each
   held by a reference of the call's own while fn runs (rcgc_refcount reads
   one more, as for an item of the list Python's gc.get_objects() returns),
   so fn may do anything: create, free, track, collect, freeze.  Returns 0,
   fn's first non-zero result, or -1 with errno = EINVAL for a bad generation
   or ENOMEM when the gathering cannot be allocated. */
RCGC_API int rcgc_get_objects(int generation, rcgc_visit_fn fn, void *arg);
/* Call fn for each tracked object (frozen ones excluded, as in CPython) that
   holds a reference to obj.  Same snapshot, same return convention. */
RCGC_API int rcgc_get_referrers(const void *obj, rcgc_visit_fn fn, void *arg);
/* Call fn for each object obj references (its traverse).  0 for objects of a
   type without traverse. */
RCGC_API int rcgc_get_referents(const void *obj, rcgc_visit_fn fn, void *arg);

/* Move every tracked object to a permanent generation that collections
   ignore; counts become zero.  unfreeze moves them back to generation 2. */
RCGC_API void rcgc_freeze(void);
RCGC_API void rcgc_unfreeze(void);
RCGC_API size_t rcgc_get_freeze_count(void);

typedef enum { RCGC_PHASE_START, RCGC_PHASE_STOP } rcgc_phase;
typedef struct {
    int generation;
    size_t collected, uncollectable;   /* 0 in the start phase */
} rcgc_gc_info;
typedef void (*rcgc_callback_fn)(rcgc_phase phase, const rcgc_gc_info *info,
                                 void *arg);
/* gc.callbacks: called before and after every collection, in the order
   added.  -1 + ENOMEM; remove: -1 + ENOENT if the pair is not registered. */
RCGC_API int rcgc_callback_add(rcgc_callback_fn fn, void *arg);
RCGC_API int rcgc_callback_remove(rcgc_callback_fn fn, void *arg);

/* ------------------------------------------------------------------------- */
/* Heaps                                                                     */
/* ------------------------------------------------------------------------- */
/* A heap holds objects and everything rcgc keeps about them: generations,
   thresholds, the garbage list, callbacks, weakrefs, and the tools' tables
   (rcgc_tools.h).  Every function above and below acts on the calling
   thread's current heap; objects belong to the heap that made them and must
   not be stored into, or released through, another (debug builds abort,
   naming both heaps).  A heap is used by one thread at a time, and may be
   handed to another: the first thread enters another heap (or ends), then
   the second enters it.  The RCGC_* environment switches apply to the default
   heap only. */
typedef struct rcgc_heap rcgc_heap;

/* A new, empty heap with CPython's thresholds (700, 10, 10), collection
   enabled, nothing traced.  NULL + ENOMEM. */
RCGC_API rcgc_heap *rcgc_heap_new(void);
/* Make heap the calling thread's current heap (NULL: the default heap);
   returns the previous one (never NULL on success: the default heap is a
   heap like any other), so a caller can go back.  NULL + EBUSY if
   another thread is in that heap, or it is being destroyed, or the call
   comes from user code that rcgc runs in the current heap (a finalizer,
   callback, clear or destroy, the allocation hook, an output sink, a walk's
   visitor: the operation that called it carries on in this heap when it
   returns).  The default heap is not asked: from its user code, do not
   enter another heap. */
RCGC_API rcgc_heap *rcgc_heap_enter(rcgc_heap *heap);
RCGC_API rcgc_heap *rcgc_heap_current(void);
RCGC_API rcgc_heap *rcgc_heap_default(void);
/* End every object of the heap, in this order: a full collection; every
   finalizer that has not run, once; every weakref cleared, its callback run;
   the garbage list dropped and every object's clear run (once), after
   every finalizer and callback due, those that user code meanwhile made
   due included; what is still alive (held by the program, or in a cycle no
   clear breaks) then has destroy run, and is freed once every such
   destroy has run, so a destroy may read what it refers to.  The tools'
   tables go too; the heap's
   rcgc_memory_in_use() is then 0.  Pointers to its objects are dangling
   afterwards.  A thread whose current heap it was is back in the default
   heap.  The default heap (heap NULL) is emptied and stays usable.
   -1 + EBUSY from user code that rcgc runs (a finalizer, a callback, a
   clear or destroy, the allocation hook, an output sink, a walk's visitor,
   in this heap or the current one), or when another thread is in it. */
RCGC_API int rcgc_heap_destroy(rcgc_heap *heap);
/* rcgc_heap_destroy(NULL): end the default heap's objects, as at the end of
   a program, so that leak checkers see nothing left by rcgc.  With
   RCGC_LEAK_REPORT=1, the report is written first. */
RCGC_API int rcgc_shutdown(void);

/* ------------------------------------------------------------------------- */
/* Weak references                                                           */
/* ------------------------------------------------------------------------- */

typedef void (*rcgc_weakref_callback_fn)(void *weakref, void *arg);
/* A new weak reference object (refcount 1, released with rcgc_decref) to
   referent.  When the referent dies, every weakref to it is cleared, then the
   callbacks of those still alive run, newest weakref first.  A weakref that
   is itself garbage in a collection never calls back.  `arg` is not managed.
   NULL + EINVAL for a NULL referent, NULL + ENOMEM. */
RCGC_API void *rcgc_weakref_new(void *referent,
                                rcgc_weakref_callback_fn callback, void *arg);
RCGC_API void *rcgc_weakref_new_at(void *referent, rcgc_weakref_callback_fn callback,
                                   void *arg, const char *file, int line, const char *func);
/* rcgc_weakref_new whose `arg` the weakref owns: `release(arg)` runs exactly
   once, when the weakref object itself is freed (its last reference dropped,
   its collection as garbage, or heap teardown), whether or not the callback
   ran, after it if it did.  Ownership passes at the call, failure included:
   when this returns NULL (errno EINVAL or ENOMEM) release(arg) has already
   run.  release runs from the weakref's deallocation, with the rules of a
   type's destroy (docs/reentrancy.md); NULL release: plain rcgc_weakref_new. */
typedef void (*rcgc_release_fn)(void *arg);
RCGC_API void *rcgc_weakref_new_with_release(void *referent,
                                             rcgc_weakref_callback_fn callback,
                                             void *arg, rcgc_release_fn release);
RCGC_API void *rcgc_weakref_new_with_release_at(void *referent,
                                                rcgc_weakref_callback_fn callback,
                                                void *arg, rcgc_release_fn release,
                                                const char *file, int line,
                                                const char *func);
/* The `arg` the weakref was made with, readable until the weakref is freed
   (before, during and after its callback).  NULL + EINVAL if wr is not a
   weakref; a weakref made with a NULL arg reads NULL with errno untouched. */
RCGC_API void *rcgc_weakref_arg(const void *weakref);
/* A new strong reference to the referent, or NULL once it is gone. */
RCGC_API void *rcgc_weakref_get(void *weakref);
/* The referent without a new reference (NULL once gone); for printing. */
RCGC_API void *rcgc_weakref_peek(void *weakref);
/* Number of live weak references to obj (weakref.getweakrefcount). */
RCGC_API size_t rcgc_weakref_count(const void *obj);
RCGC_API bool rcgc_is_weakref(const void *obj);

/* ------------------------------------------------------------------------- */
/* Ready containers                                                          */
/* ------------------------------------------------------------------------- */
/* Containers hold strong references.  Functions that store an item take a new
   reference of their own (the caller keeps its reference); get returns a
   borrowed reference; pop returns the reference the container held.

   The *_steal stores instead take over the caller's reference, in every
   case: on success the container holds it, and ON FAILURE IT IS RELEASED
   (with errno kept), so the caller never has a reference left to drop, as
   with CPython's PyList_SetItem.  That makes a store of a new object one
   line with no leak on any path: rcgc_list_append_steal(l, rcgc_new(&t))
   (a failed rcgc_new appends NULL to a list, which allows NULL items; a
   dict refuses it with EINVAL, the ENOMEM of rcgc_new then lost).

   Iteration: rcgc_list_next and rcgc_dict_next report a change made to the
   container since the walk started (by the loop body, or by a finalizer or
   callback that an allocation in it ran through an automatic collection):
   they return false with errno = EAGAIN, and keep doing so for that pos.
   At the normal end they return false with errno = 0 (unlike most of C), so
   one test after the loop tells the two apart:
       size_t pos = 0; void *item;
       while (rcgc_list_next(list, &pos, &item)) { ... }
       if (errno == EAGAIN) { the list changed: start again, or give up }
   A change is anything that moves entries: adding or removing an item or a
   key, clearing; replacing the item at an index or the value of an existing
   key is not (CPython lets d[k] = v run inside a loop over d).  pos is
   opaque: 0 starts a walk, the function fills in the rest (a change stamp
   in its upper bits). */

RCGC_API void *rcgc_list_new(void);
RCGC_API void *rcgc_list_new_at(const char *file, int line, const char *func);
RCGC_API size_t rcgc_list_len(const void *list);
RCGC_API int rcgc_list_append(void *list, void *item);        /* item may be NULL */
RCGC_API int rcgc_list_append_at(void *list, void *item, const char *file, int line,
                                 const char *func);
/* Borrowed.  NULL + ERANGE past the end; a stored NULL also reads as NULL
   (errno untouched), so check the index against rcgc_list_len when items may
   be NULL. */
RCGC_API void *rcgc_list_get(const void *list, size_t i);
RCGC_API int rcgc_list_set(void *list, size_t i, void *item); /* -1 + ERANGE */
/* Stealing stores (see above): the item is the list's, or released. */
RCGC_API int rcgc_list_append_steal(void *list, void *item);
RCGC_API int rcgc_list_append_steal_at(void *list, void *item, const char *file,
                                       int line, const char *func);
RCGC_API int rcgc_list_set_steal(void *list, size_t i, void *item);
/* The next item (borrowed) into *item; see "Iteration" above.  Index loops
   (i < rcgc_list_len) remain the way to walk a list that the loop itself
   grows, as a Python for loop over a list does. */
RCGC_API bool rcgc_list_next(const void *list, size_t *pos, void **item);
RCGC_API void *rcgc_list_pop(void *list, size_t i);           /* new ref to caller; NULL + ERANGE */
RCGC_API int rcgc_list_remove(void *list, size_t i);          /* drops the item; -1 + ERANGE */
RCGC_API void rcgc_list_clear(void *list);

/* Dicts map NUL-terminated string keys (copied) to non-NULL values. */
RCGC_API void *rcgc_dict_new(void);
RCGC_API void *rcgc_dict_new_at(const char *file, int line, const char *func);
RCGC_API size_t rcgc_dict_len(const void *dict);
RCGC_API int rcgc_dict_set(void *dict, const char *key, void *value);
RCGC_API int rcgc_dict_set_at(void *dict, const char *key, void *value, const char *file,
                              int line, const char *func);
/* Stealing store (see above): the value is the dict's, or released. */
RCGC_API int rcgc_dict_set_steal(void *dict, const char *key, void *value);
RCGC_API int rcgc_dict_set_steal_at(void *dict, const char *key, void *value,
                                    const char *file, int line, const char *func);
RCGC_API void *rcgc_dict_get(const void *dict, const char *key); /* borrowed; NULL + ENOENT */
RCGC_API int rcgc_dict_del(void *dict, const char *key);         /* -1 + ENOENT */
/* Iterate: size_t pos = 0; while (rcgc_dict_next(d, &pos, &k, &v)) ...
   Entries come in insertion order; a change meanwhile ends the walk with
   errno = EAGAIN, the normal end sets errno = 0 (see "Iteration" above).
   The key and value are borrowed. */
RCGC_API bool rcgc_dict_next(const void *dict, size_t *pos, const char **key,
                             void **value);
RCGC_API void rcgc_dict_clear(void *dict);

RCGC_API extern const rcgc_type rcgc_list_type;
RCGC_API extern const rcgc_type rcgc_dict_type;
RCGC_API extern const rcgc_type rcgc_weakref_type;

/* The allocating functions as macros that record their caller's site (see
   rcgc_new_at).  Function-like macros: the names alone, as in
   `fn = rcgc_new;` or `(rcgc_new)(type)`, still mean the functions. */
/* Inline fast paths for the calls a program makes most.  They read the
   object's count and type words, whose places the ABI policy fixes (the
   count two words before the body, the type word one before, its low three
   bits flags), and leave everything else to the functions: NULL, a count
   reaching zero, and every call when the library is a debug build
   (RCGC_DEBUG=ON), whose misuse checks must see each one; the library says
   which in rcgc_inline_fast_paths.  Function-like macros, so
   `(rcgc_incref)(obj)` and `fn = rcgc_incref` still mean the functions;
   define RCGC_NO_INLINE to use the functions everywhere. */
RCGC_API extern const int rcgc_inline_fast_paths;   /* 0 in debug builds */
/* For the inline rcgc_decref only: the object's count has just reached zero. */
RCGC_API void rcgc_dealloc_at_zero_(void *obj);
static inline void rcgc_incref_inline_(void *obj)
{
    if (obj && rcgc_inline_fast_paths)
        ((size_t *)obj)[-2]++;
    else
        (rcgc_incref)(obj);
}
static inline void rcgc_decref_inline_(void *obj)
{
    if (obj && rcgc_inline_fast_paths) {
        if (--((size_t *)obj)[-2] == 0) rcgc_dealloc_at_zero_(obj);
    } else {
        (rcgc_decref)(obj);
    }
}
static inline const rcgc_type *rcgc_typeof_inline_(const void *obj)
{
    if (obj && rcgc_inline_fast_paths)
        return (const rcgc_type *)(((const size_t *)obj)[-1] & ~(size_t)7);
    return (rcgc_typeof)(obj);
}
#ifndef RCGC_NO_INLINE
#define rcgc_incref(obj) rcgc_incref_inline_(obj)
#define rcgc_decref(obj) rcgc_decref_inline_(obj)
#define rcgc_typeof(obj) rcgc_typeof_inline_(obj)
#endif

#ifndef RCGC_NO_SITES
#define rcgc_new(type) rcgc_new_at((type), __FILE__, __LINE__, __func__)
#define rcgc_weakref_new(referent, callback, arg) \
    rcgc_weakref_new_at((referent), (callback), (arg), __FILE__, __LINE__, __func__)
#define rcgc_list_new() rcgc_list_new_at(__FILE__, __LINE__, __func__)
#define rcgc_list_append(list, item) \
    rcgc_list_append_at((list), (item), __FILE__, __LINE__, __func__)
#define rcgc_list_append_steal(list, item) \
    rcgc_list_append_steal_at((list), (item), __FILE__, __LINE__, __func__)
#define rcgc_dict_new() rcgc_dict_new_at(__FILE__, __LINE__, __func__)
#define rcgc_dict_set(dict, key, value) \
    rcgc_dict_set_at((dict), (key), (value), __FILE__, __LINE__, __func__)
#define rcgc_dict_set_steal(dict, key, value) \
    rcgc_dict_set_steal_at((dict), (key), (value), __FILE__, __LINE__, __func__)
#define rcgc_weakref_new_with_release(referent, callback, arg, release)            \
    rcgc_weakref_new_with_release_at((referent), (callback), (arg), (release),     \
                                     __FILE__, __LINE__, __func__)
#endif

#ifdef __cplusplus
}
#endif

#endif /* RCGC_H */
