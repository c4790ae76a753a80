/* A program built outside the tree against an installed rcgc: a list that
   contains itself is dropped, and a full collection must find exactly it. */
#include <rcgc.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
    rcgc_disable();
    void *list = rcgc_list_new();
    if (!list || rcgc_list_append(list, list) != 0) {
        fprintf(stderr, "consumer: could not build the cycle\n");
        return 1;
    }
    rcgc_decref(list);
    size_t found = rcgc_collect(2);
    if (found != 1) {
        fprintf(stderr, "consumer: rcgc_collect(2) == %zu, expected 1\n", found);
        return 1;
    }
    /* The library it runs with is the one it was compiled against. */
    if (rcgc_version() != RCGC_VERSION_HEX ||
        strcmp(rcgc_version_string(), RCGC_VERSION_STRING) != 0) {
        fprintf(stderr, "consumer: runs with rcgc %s (0x%06x), compiled against %s\n",
                rcgc_version_string(), rcgc_version(), RCGC_VERSION_STRING);
        return 1;
    }
    printf("consumer: rcgc %s collected the self-referencing list\n", rcgc_version_string());
    return 0;
}
