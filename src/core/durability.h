/*
 * Does Redis store a write durably before it acknowledges it?  What the
 * events path needs for "2xx means stored": an acknowledged event must
 * survive kill -9 or a crash of Redis, which holds only with the
 * append-only file fsynced on every write:
 *
 *     appendonly yes
 *     appendfsync always
 *
 * (or a replica confirming each write with WAIT, which the module does not
 * do: docs/feature-store.md, "Durability").  The module asks at every
 * connect (CONFIG GET appendonly, CONFIG GET appendfsync; INFO persistence
 * when CONFIG is renamed or denied, which shows aof_enabled but not the
 * fsync policy) and warns once when events are acknowledged without it.
 * Plain C, so that the verdicts are unit-tested.
 */
#ifndef SKIP_DURABILITY_H
#define SKIP_DURABILITY_H

#include <stddef.h>

typedef enum {
    SK_DURABLE_UNKNOWN = 0,     /* could not tell: treated as not durable */
    SK_DURABLE_NO,
    SK_DURABLE_YES
} sk_durable;

/*
 * From the values of CONFIG GET appendonly / appendfsync (NULL when CONFIG
 * failed).  why gets what is wrong and what to set (empty when durable).
 * Returns SK_DURABLE_UNKNOWN when appendonly is NULL: ask INFO then.
 */
sk_durable sk_durability_config(const char *appendonly,
    const char *appendfsync, char *why, size_t len);

/* From the text of INFO persistence (NULL when INFO failed too). */
sk_durable sk_durability_info(const char *info, size_t info_len, char *why,
    size_t len);

#endif
