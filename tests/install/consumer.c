/* A program built outside the tree against an installed rcgc: a list that
   contains itself is dropped, and a full collection must find exactly it. */
#include <rcgc.h>
#include <stdio.h>

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
    printf("consumer: rcgc %d.%d.%d collected the self-referencing list\n",
           RCGC_VERSION_MAJOR, RCGC_VERSION_MINOR, RCGC_VERSION_PATCH);
    return 0;
}
