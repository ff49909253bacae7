/*
 * Interned strings: one shared, reference-counted copy per distinct text,
 * for the descriptor strings that repeat in every RRD (each VM's "cpu0",
 * "CPU usage of vCPU 0", "(fraction)": a few hundred texts for a host of
 * 100k data sources).  Thread-safe (a mutex of its own); allocation failure
 * aborts, as xalloc does.
 */
#ifndef RRDD_UTIL_INTERN_H
#define RRDD_UTIL_INTERN_H

/* A reference to the shared copy of s (NULL is taken as ""), valid until
 * the matching intern_put.  Equal texts give the same pointer. */
const char *intern_get(const char *s);

/* Drop a reference returned by intern_get; the copy is freed with its last
 * reference.  NULL is a no-op. */
void intern_put(const char *s);

/* Distinct texts held now (for tests). */
unsigned long intern_count(void);

#endif
