/*
 * The plugin registry under concurrency: RPC-style threads register,
 * re-register and deregister plugins, ask for paths and next_reading, while
 * the tick thread collects and reads every chunk it is handed (all of it,
 * strings included) until the next collect.  Checks that no chunk is ever
 * torn down under the reader (every sample's name matches its plugin, the
 * value is the one written) and that the final registry holds exactly the
 * plugins left registered.  Run under ASan/TSan builds to catch races.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plugin/registry.h"
#include "util/log.h"
#include "test_plugin_registry_util.h"

#define NPLUG    24
#define NTHREADS 3
#define ROUNDS   3000

static struct plg_registry *R;
static atomic_int stop_flag;
static atomic_long ops;

static void *rpc_thread(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	char uid[32], path[1024];
	while (!atomic_load(&stop_flag)) {
		int i = (int)(rand_r(&seed) % NPLUG);
		snprintf(uid, sizeof(uid), "p%02d", i);
		switch (rand_r(&seed) % 5) {
		case 0:
		case 1:
			/* a plugin registering writes its page (a register after an
			 * RPC deregistration counts only then, plg_deregister) */
			assert_true(plg_path(R, uid, path, sizeof(path)) > 0);
			utimensat(AT_FDCWD, path, NULL, 0);
			assert_true(plg_register(R, uid, PLG_REG_V2) >= 0);
			break;
		case 2: {
			int rc = plg_deregister(R, uid);
			assert_true(rc == 0 || rc == -ENOENT);
			break;
		}
		case 3:
			assert_true(plg_path(R, uid, path, sizeof(path)) > 0);
			break;
		default:
			(void)plg_next_reading(R, uid);
			(void)plg_count(R);
			break;
		}
		atomic_fetch_add(&ops, 1);
	}
	return NULL;
}

static void test_register_vs_collect(void **state)
{
	(void)state;
	char *dir = t_tmpdir();
	for (int i = 0; i < NPLUG; i++) {
		char uid[32], name[32];
		snprintf(uid, sizeof(uid), "p%02d", i);
		snprintf(name, sizeof(name), "v%02d", i);
		struct tds ds[1] = {{name, "host", "gauge", 1, 1, 1000 + i, 0}};
		t_write_v2(dir, uid, 1700000000, ds, 1);
	}
	/* stale_ticks above ROUNDS: a plugin registered all along must still
	 * re-send its unchanged page at the final collect, however the threads
	 * were scheduled (1000 made the final count flaky on a loaded machine) */
	struct plg_registry_opts o = {.dir = dir, .no_discovery = true, .stale_ticks = 10 * ROUNDS};
	R = plg_registry_new(&o);
	pthread_t th[NTHREADS];
	for (int t = 0; t < NTHREADS; t++)
		assert_int_equal(
		    pthread_create(&th[t], NULL, rpc_thread, (void *)(uintptr_t)(t + 1)), 0);
	/* on a loaded machine the threads may not have run yet: start the
	 * rounds once they have registered something (bounded wait) */
	for (int w = 0; w < 20000 && plg_count(R) == 0; w++)
		usleep(500);
	size_t seen = 0;
	for (int round = 0; round < ROUNDS; round++) {
		struct mon_chunk **c;
		size_t n;
		assert_int_equal(plg_collect(R, NAN, NAN, &c, &n), 0);
		for (size_t j = 0; j < n; j++) {
			/* The chunk stays intact even if its plugin was just
			 * deregistered by another thread. */
			int i = atoi(c[j]->uid + 1);
			assert_true(i >= 0 && i < NPLUG);
			assert_int_equal(c[j]->nowner, 1);
			assert_int_equal(c[j]->owner[0].nds, 1);
			char name[32];
			snprintf(name, sizeof(name), "v%02d", i);
			assert_string_equal(c[j]->owner[0].ds[0].d.name, name);
			assert_int_equal(c[j]->owner[0].ds[0].v.i, 1000 + i);
			assert_true(c[j]->t == 1700000000);
			seen++;
		}
	}
	atomic_store(&stop_flag, 1);
	for (int t = 0; t < NTHREADS; t++)
		pthread_join(th[t], NULL);
	assert_true(seen > 0);
	assert_true(atomic_load(&ops) > 0);
	/* The final state: exactly the registered ones are read. */
	size_t registered = 0;
	for (int i = 0; i < NPLUG; i++) {
		char uid[32];
		snprintf(uid, sizeof(uid), "p%02d", i);
		registered += plg_is_registered(R, uid);
	}
	assert_int_equal(plg_count(R), registered);
	struct mon_chunk **c;
	size_t n;
	plg_collect(R, NAN, NAN, &c, &n);
	/* a re-registered plugin starts with a fresh reader: its unchanged
	 * page is new to it; one registered all along re-sends (stale_ticks > ROUNDS) */
	assert_int_equal(n, registered);
	plg_registry_free(R);
	t_rmrf(dir);
	free(dir);
}

int main(void)
{
	log_init("test", LOG_TO_STDERR, LOG_WARNING); /* no line per registration */
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_register_vs_collect),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
