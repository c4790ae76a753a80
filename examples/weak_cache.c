/*
 * A cache that never keeps its values alive: Python's WeakValueDictionary,
 * built on an rcgc dict of weak references.
 *
 * Loading a texture twice while someone holds it returns the same object; once
 * the last user drops it, the texture is freed at once and the weakref's
 * callback removes its entry, so the cache neither leaks nor serves a dead
 * object.
 */
#include <rcgc.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct texture {
    char path[32];
    size_t bytes;          /* stands for pixel data rcgc does not manage */
} texture;

static void *must(void *obj)
{
    if (!obj) {
        fprintf(stderr, "weak_cache: %s\n", strerror(errno));
        exit(1);
    }
    return obj;
}

static void texture_destroy(void *self)
{
    printf("  texture %s freed\n", ((texture *)self)->path);
}

static const rcgc_type texture_type = {
    .name = "texture", .size = sizeof(texture), .destroy = texture_destroy,
};

/* Called when a cached texture dies: drop the entry that pointed at it,
   unless the path has been loaded again meanwhile (then the entry holds a
   newer weakref and must stay). */
static void evict(void *weakref, void *cache)
{
    const char *key;
    void *value;
    size_t pos = 0;
    char found[sizeof ((texture *)0)->path] = "";
    while (rcgc_dict_next(cache, &pos, &key, &value)) {
        if (value == weakref) {
            snprintf(found, sizeof found, "%s", key);
            break;
        }
    }
    if (found[0]) {
        printf("  cache: evicting %s\n", found);
        rcgc_dict_del(cache, found);
    }
}

/* A new reference to the texture at path, loaded only if no one holds it. */
static texture *cache_load(void *cache, const char *path)
{
    void *weakref = rcgc_dict_get(cache, path);
    if (weakref) {
        texture *alive = rcgc_weakref_get(weakref);
        if (alive) {
            printf("  cache: hit %s\n", path);
            return alive;
        }
    }
    printf("  cache: miss %s, loading\n", path);
    texture *t = must(rcgc_new(&texture_type));
    snprintf(t->path, sizeof t->path, "%s", path);
    t->bytes = 4096;
    weakref = must(rcgc_weakref_new(t, evict, cache));
    if (rcgc_dict_set(cache, path, weakref) != 0) {
        fprintf(stderr, "weak_cache: %s\n", strerror(errno));
        exit(1);
    }
    rcgc_decref(weakref);   /* the dict holds it now */
    return t;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    void *cache = must(rcgc_dict_new());

    printf("two sprites load grass.png, one loads sky.png:\n");
    texture *sprite1 = cache_load(cache, "grass.png");
    texture *sprite2 = cache_load(cache, "grass.png");
    texture *sky = cache_load(cache, "sky.png");
    printf("same object: %s; weak references to it: %zu; cache entries: %zu\n",
           sprite1 == sprite2 ? "yes" : "no", rcgc_weakref_count(sprite1),
           rcgc_dict_len(cache));

    printf("sprite 1 drops grass.png (sprite 2 still holds it):\n");
    rcgc_decref(sprite1);
    printf("sprite 2 drops grass.png:\n");
    rcgc_decref(sprite2);
    printf("cache entries: %zu\n", rcgc_dict_len(cache));

    printf("loading grass.png again:\n");
    texture *again = cache_load(cache, "grass.png");
    rcgc_decref(again);
    rcgc_decref(sky);
    printf("cache entries: %zu\n", rcgc_dict_len(cache));
    rcgc_decref(cache);
    return 0;
}
