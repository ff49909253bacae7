/*
 * Test hooks of the store, read from the environment by
 * test_hooks_from_env() (the rrdd-test daemon calls it at start; unit
 * tests call it themselves): RRDD_TEST_CRASH_OPS=N makes the process
 * SIGKILL itself at its Nth store file operation (a write is cut in the
 * middle first), so a crash test can stop the daemon at any point of a
 * cycle, a checkpoint or an archive write, reproducibly;
 * RRDD_TEST_SYNC_LOG=PATH appends "<journal file> <offset>\n" to PATH after
 * each successful journal fsync, so a power-loss test knows what the disk
 * held.  Built into test binaries only.
 */
#ifndef RRDD_TESTS_CRASH_HOOKS_H
#define RRDD_TESTS_CRASH_HOOKS_H

void test_hooks_from_env(void);

#endif
