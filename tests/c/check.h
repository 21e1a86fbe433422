/* The C tests' one assertion: CHECK(cond) counts a pass or prints the failed
 * condition with its file and line; each test's main reports passed/failed. */
#ifndef ML_TESTS_CHECK_H
#define ML_TESTS_CHECK_H

#include <stdio.h>

static int passed, failed;

#define CHECK(cond)                                                                \
    do {                                                                           \
        if (cond) passed++;                                                        \
        else {                                                                     \
            failed++;                                                              \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);        \
        }                                                                          \
    } while (0)

#endif
