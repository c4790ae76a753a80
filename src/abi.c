/*
 * What the header promises programs compiled against it, checked at build
 * time; the version; and the text of the two optional type hooks, describe
 * and name_ref, as every message and tool shows it.
 *
 * Invariants:
 *  A1  On LP64, rcgc_type is 128 bytes and its fields sit at the offsets of
 *      the first 1.x header; nothing but a major version may change them.
 *  A2  The reference count and the type word sit at 2 and 1 words before
 *      the body, in debug and release builds alike.
 *  A3  A hook's text, once through hook_text, is one line of at most
 *      size - 1 bytes (control bytes shown as '?'), never cut inside a UTF-8
 *      character, ending in "..." when the hook wrote more than fitted.
 *  A4  Hooks run only on objects whose count is not zero.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

#if defined(__LP64__) || defined(_LP64)
_Static_assert(sizeof(rcgc_type) == 128, "rcgc_type's size is fixed for the major version");
_Static_assert(offsetof(rcgc_type, name) == 0, "ABI: rcgc_type.name");
_Static_assert(offsetof(rcgc_type, size) == 8, "ABI: rcgc_type.size");
_Static_assert(offsetof(rcgc_type, traverse) == 16, "ABI: rcgc_type.traverse");
_Static_assert(offsetof(rcgc_type, clear) == 24, "ABI: rcgc_type.clear");
_Static_assert(offsetof(rcgc_type, finalize) == 32, "ABI: rcgc_type.finalize");
_Static_assert(offsetof(rcgc_type, destroy) == 40, "ABI: rcgc_type.destroy");
_Static_assert(offsetof(rcgc_type, describe) == 48, "ABI: rcgc_type.describe");
_Static_assert(offsetof(rcgc_type, name_ref) == 56, "ABI: rcgc_type.name_ref");
_Static_assert(offsetof(rcgc_type, reserved) == 64, "ABI: rcgc_type.reserved");
#endif
_Static_assert(sizeof(obj_head) - offsetof(obj_head, refcnt) == 2 * sizeof(void *),
               "ABI: the count sits two words before the body");
_Static_assert(sizeof(obj_head) - offsetof(obj_head, type_bits) == sizeof(void *),
               "ABI: the type word sits one word before the body");
_Static_assert(TYPE_BITS_MASK == 7, "ABI: the type word's flags are its low three bits");
_Static_assert(sizeof(size_t) == sizeof(void *) && sizeof(uintptr_t) == sizeof(size_t),
               "ABI: the header's inline paths read both words as size_t");
_Static_assert(RCGC_VERSION_MAJOR < 256 && RCGC_VERSION_MINOR < 256 && RCGC_VERSION_PATCH < 256,
               "RCGC_VERSION_HEX has a byte for each part");

/* The header's inline paths may bypass the functions only where the
   functions check nothing the paths skip. */
#ifdef RCGC_DEBUG
const int rcgc_inline_fast_paths = 0;
#else
const int rcgc_inline_fast_paths = 1;
#endif

unsigned rcgc_version(void)
{
    return RCGC_VERSION_HEX;
}

const char *rcgc_version_string(void)
{
    return RCGC_VERSION_STRING;
}

/* ---- hook text ------------------------------------------------------------------ */

/* A3: what a hook wrote into buf (returning r), made one safe line; false
   for no text. */
static bool hook_text(int r, char *buf, size_t size)
{
    if (r <= 0) {
        buf[0] = '\0';
        return false;
    }
    buf[size - 1] = '\0';   /* a hook that forgot the NUL */
    size_t len = strlen(buf);
    if ((size_t)r > len && size > 4) {   /* cut: "..." replaces what did not fit */
        len = len > size - 4 ? size - 4 : len;
        while (len > 0 && ((unsigned char)buf[len] & 0xc0) == 0x80) len--;
        memcpy(buf + len, "...", 4);
        len += 3;
    }
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f) buf[i] = '?';
    return len > 0;
}

bool rcgc__describe(const void *obj, char *buf, size_t size)
{
    const obj_head *h = head_of(obj);
    const rcgc_type *t = head_type(h);
    buf[0] = '\0';
    if (!t->describe || h->refcnt == 0) return false;   /* A4 */
    return hook_text(t->describe(obj, buf, size), buf, size);
}

const char *rcgc__label(const void *obj, char *buf, size_t size)
{
    const rcgc_type *t = head_type(head_of(obj));
    const char *name = t->name ? t->name : "?";
    char text[RCGC_DESCRIBE_SIZE];
    if (!rcgc__describe(obj, text, sizeof text)) return name;
    snprintf(buf, size, "%s %s", name, text);
    return buf;
}

const char *rcgc__ref_name(const void *from, const void *to, size_t index, char *buf,
                           size_t size)
{
    const obj_head *h = head_of(from);
    const rcgc_type *t = head_type(h);
    buf[0] = '\0';
    if (!t->name_ref || h->refcnt == 0 || !hook_text(t->name_ref(from, to, index, buf, size),
                                                     buf, size))
        snprintf(buf, size, "#%zu", index);
    return buf;
}
