/*
 * The clocks (rrdd/clock/): the deadline schedule (on time: +period; late:
 * the next grid point after now, skipped slots counted, no drift and no
 * catch-up burst), the simulated clock (sleep jumps to the deadline, wall =
 * epoch + monotonic, advance), and the real clock's basic ordering.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "clock/clock.h"

static void test_next_deadline_on_time(void **state)
{
	(void)state;
	double d = 100;
	assert_int_equal(clk_next_deadline(&d, 5, 101.2), 0);
	assert_true(d == 105);
	/* finishing exactly at the next deadline counts as late by one slot? no:
	 * the next deadline must be strictly in the future */
	assert_int_equal(clk_next_deadline(&d, 5, 109.999), 0);
	assert_true(d == 110);
}

static void test_next_deadline_late_realigns(void **state)
{
	(void)state;
	double d = 100;
	/* the tick due at 100 ran until 112.5: 105 and 110 are dropped */
	assert_int_equal(clk_next_deadline(&d, 5, 112.5), 2);
	assert_true(d == 115);
	/* exactly on a grid point: that point has passed, the next one */
	d = 100;
	assert_int_equal(clk_next_deadline(&d, 5, 110), 2);
	assert_true(d == 115);
	/* a long stall: still one deadline, on the grid */
	d = 100;
	assert_int_equal(clk_next_deadline(&d, 5, 100 + 3600 + 1), 720);
	assert_true(d == 100 + 3605);
	assert_true(fmod(d - 100, 5) == 0);
}

static void test_no_drift_over_a_day(void **state)
{
	(void)state;
	/* a loop whose work takes 0.7 s each tick stays on the grid */
	struct clk c;
	clk_init_sim(&c, 1700000000);
	double d = clk_mono(&c);
	unsigned ticks = 0, skipped = 0;
	while (d < 86400) {
		clk_sim_advance(&c, 0.7);
		skipped += clk_next_deadline(&d, 5, clk_mono(&c));
		clk_sleep_until(&c, d);
		ticks++;
		assert_true(clk_mono(&c) == d);
	}
	assert_int_equal(ticks, 86400 / 5);
	assert_int_equal(skipped, 0);
	assert_true(clk_wall(&c) == 1700000000 + 86400.0);
}

static void test_sim_late_tick(void **state)
{
	(void)state;
	struct clk c;
	clk_init_sim(&c, 1000);
	double d = 0;
	clk_sim_advance(&c, 7.5); /* a slow tick */
	assert_int_equal(clk_next_deadline(&d, 5, clk_mono(&c)), 1);
	assert_true(d == 10);
	clk_sleep_until(&c, d);
	assert_true(clk_wall(&c) == 1010);
	/* sleeping into the past does not move time backwards */
	clk_sleep_until(&c, 3);
	assert_true(clk_mono(&c) == 10);
}

static void test_real_clock(void **state)
{
	(void)state;
	struct clk c;
	clk_init_real(&c);
	double m0 = clk_mono(&c), w = clk_wall(&c);
	assert_true(w > 1.6e9);
	assert_int_equal(clk_sleep_until(&c, m0 + 0.01), 0);
	assert_true(clk_mono(&c) >= m0 + 0.01);
	clk_sim_advance(&c, 100); /* no-op on a real clock */
	assert_true(clk_mono(&c) < m0 + 50);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_next_deadline_on_time),
	    cmocka_unit_test(test_next_deadline_late_realigns),
	    cmocka_unit_test(test_no_drift_over_a_day),
	    cmocka_unit_test(test_sim_late_tick),
	    cmocka_unit_test(test_real_clock),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
