/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small TAP test harness for the chainmesh unit tests, in the spirit of
 * the kernel's kselftest_harness.h (its own code, a subset of its API):
 *
 *	FIXTURE(ring) { void *mem; };
 *	FIXTURE_SETUP(ring) { self->mem = malloc(64); ASSERT_NE(NULL, self->mem); }
 *	FIXTURE_TEARDOWN(ring) { free(self->mem); }
 *	TEST_F(ring, empty) { EXPECT_EQ(0, do_something(self->mem)); }
 *	TEST(plain) { ASSERT_TRUE(1) TH_LOG("appended to the failure"); }
 *	TEST_HARNESS_MAIN
 *
 * Every test runs in a forked child under alarm() (CM_TEST_TIMEOUT, or
 * TEST_TIMEOUT(name, s) / TEST_F_TIMEOUT(f, name, s)): a crash, a
 * sanitizer report or a hang fails that test only; tests must not use
 * alarm() themselves. SKIP(return, "why") reports "ok ... # SKIP why". ASSERT_* ends the test (its
 * fixture is still torn down), EXPECT_* records the failure and goes on.
 * Either may be followed by a statement, run only on failure, typically
 * TH_LOG(). From a thread other than the test's, a failed ASSERT_* ends
 * the child at once.
 *
 * Output is TAP: "1..N", "ok N - name" or "not ok N - name", diagnostics on
 * lines starting with "# ". The exit status is 1 when any test failed.
 * Arguments: -l lists the tests; any other argument runs only the tests
 * whose name contains it.
 */
#ifndef _CM_HARNESS_H
#define _CM_HARNESS_H

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define CM_TEST_TIMEOUT		30	/* seconds, per test */
#define __CM_EXIT_FAIL		1
#define __CM_EXIT_SKIP		4

struct __cm_meta {
	int failed;
	int skipped;
	pthread_t thread;
	jmp_buf env;
};

struct __cm_test {
	const char *name;
	void (*run)(struct __cm_meta *_metadata);
	unsigned int timeout;
	struct __cm_test *next;
};

/* Shared with the parent across fork(). */
struct __cm_result {
	char skip_reason[256];
};

/*
 * Built with ASan: leak checking needs ptrace, which CI containers may
 * refuse.
 */
#if defined(__has_feature)
#if __has_feature(address_sanitizer) && !defined(__SANITIZE_ADDRESS__)
#define __SANITIZE_ADDRESS__ 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "detect_leaks=0";
}
#endif

static struct __cm_test *__cm_tests;
static struct __cm_test **__cm_tests_tail = &__cm_tests;
static struct __cm_result *__cm_result;

static inline void __cm_register(struct __cm_test *t)
{
	t->next = NULL;
	*__cm_tests_tail = t;
	__cm_tests_tail = &t->next;
}

#define __CM_UNUSED __attribute__((unused))

#define TEST(t)		TEST_TIMEOUT(t, CM_TEST_TIMEOUT)

#define TEST_TIMEOUT(t, secs)						\
	static void __cm_fn_##t(struct __cm_meta *_metadata);		\
	static struct __cm_test __cm_test_##t = {			\
		.name = #t,						\
		.run = __cm_fn_##t,					\
		.timeout = (secs),					\
	};								\
	static void __attribute__((constructor)) __cm_reg_##t(void)	\
	{								\
		__cm_register(&__cm_test_##t);				\
	}								\
	static void __cm_fn_##t(struct __cm_meta __CM_UNUSED *_metadata)

#define FIXTURE_DATA(f)		struct __cm_fixture_##f

#define FIXTURE(f)							\
	FIXTURE_DATA(f);						\
	FIXTURE_DATA(f)

#define FIXTURE_SETUP(f)						\
	static void __cm_setup_##f(struct __cm_meta __CM_UNUSED *_metadata, \
				   FIXTURE_DATA(f) __CM_UNUSED *self)

#define FIXTURE_TEARDOWN(f)						\
	static void __cm_teardown_##f(struct __cm_meta __CM_UNUSED *_metadata, \
				      FIXTURE_DATA(f) __CM_UNUSED *self)

#define TEST_F(f, t)	TEST_F_TIMEOUT(f, t, CM_TEST_TIMEOUT)

/*
 * The fixture lives in static storage: the child runs one test only, and
 * its value must survive a longjmp() out of the test body.
 */
#define TEST_F_TIMEOUT(f, t, secs)					\
	static void __cm_fn_##f##_##t(struct __cm_meta *_metadata,	\
					 FIXTURE_DATA(f) *self);	\
	static void __cm_wrap_##f##_##t(struct __cm_meta *_metadata)	\
	{								\
		static FIXTURE_DATA(f) fx;				\
									\
		memset(&fx, 0, sizeof(fx));				\
		if (setjmp(_metadata->env))				\
			return;	/* setup failed: no test, no teardown */ \
		__cm_setup_##f(_metadata, &fx);				\
		if (!setjmp(_metadata->env))				\
			__cm_fn_##f##_##t(_metadata, &fx);		\
		if (!setjmp(_metadata->env))				\
			__cm_teardown_##f(_metadata, &fx);		\
	}								\
	static struct __cm_test __cm_test_##f##_##t = {		\
		.name = #f "." #t,					\
		.run = __cm_wrap_##f##_##t,				\
		.timeout = (secs),					\
	};								\
	static void __attribute__((constructor))			\
	__cm_reg_##f##_##t(void)					\
	{								\
		__cm_register(&__cm_test_##f##_##t);			\
	}								\
	static void __cm_fn_##f##_##t(struct __cm_meta __CM_UNUSED *_metadata, \
					 FIXTURE_DATA(f) __CM_UNUSED *self)

/* Values are compared as mathematical integers, whatever their types. */
struct __cm_val {
	int neg;
	uintmax_t u;
};

#define __cm_is_signed(x)						\
	_Generic((x), signed char: 1, short: 1, int: 1, long: 1,	\
		 long long: 1, default: 0)

static inline struct __cm_val __cm_val(int is_signed, intmax_t v)
{
	return (struct __cm_val){ .neg = is_signed && v < 0, .u = (uintmax_t)v };
}

#define __CM_VAL(x)	__cm_val(__cm_is_signed(x), (intmax_t)(x))

static inline int __cm_cmp(struct __cm_val a, struct __cm_val b)
{
	if (a.neg != b.neg)
		return a.neg ? -1 : 1;
	if (a.neg)
		return (intmax_t)a.u < (intmax_t)b.u ? -1 :
		       (intmax_t)a.u > (intmax_t)b.u;
	return a.u < b.u ? -1 : a.u > b.u;
}

static inline void __cm_print_val(const char *expr, struct __cm_val v)
{
	if (v.neg)
		printf("#   %s = %jd\n", expr, (intmax_t)v.u);
	else
		printf("#   %s = %ju (0x%jx)\n", expr, v.u, v.u);
}

static inline void __cm_fail(struct __cm_meta *m, const char *file, int line,
			     const char *what)
{
	m->failed = 1;
	printf("# %s:%d: %s failed\n", file, line, what);
}

static inline int __cm_fail_cmp(struct __cm_meta *m, const char *file, int line,
				const char *macro, const char *ea, const char *eb,
				struct __cm_val a, struct __cm_val b)
{
	char what[512];

	snprintf(what, sizeof(what), "%s(%s, %s)", macro, ea, eb);
	__cm_fail(m, file, line, what);
	__cm_print_val(ea, a);
	__cm_print_val(eb, b);
	return 1;
}

/* After a failed ASSERT_*: leave the test. */
static inline void __cm_end(struct __cm_meta *m, int fatal)
{
	if (!fatal)
		return;
	if (pthread_equal(pthread_self(), m->thread))
		longjmp(m->env, 1);
	fflush(stdout);
	_exit(__CM_EXIT_FAIL);
}

/*
 * The for () runs its body (the caller's trailing statement, or just ";")
 * once on failure, then ends the test if @fatal.
 */
#define __CM_ON_FAIL(bad, fatal)					\
	for (int __cm_bad = (bad); __cm_bad;				\
	     __cm_end(_metadata, (fatal)), __cm_bad = 0)

#define __CM_CMP(macro, a, b, sa, sb, op, fatal)				\
	__CM_ON_FAIL(({							\
		__typeof__(a) __cm_a = (a);				\
		__typeof__(b) __cm_b = (b);				\
		struct __cm_val __cm_va = __CM_VAL(__cm_a);		\
		struct __cm_val __cm_vb = __CM_VAL(__cm_b);		\
		!(__cm_cmp(__cm_va, __cm_vb) op 0) &&			\
		__cm_fail_cmp(_metadata, __FILE__, __LINE__, macro,	\
			      sa, sb, __cm_va, __cm_vb);		\
	}), fatal)

#define __CM_BOOL(macro, x, sx, want, fatal)				\
	__CM_ON_FAIL((!!(x)) != (want) &&					\
		     (__cm_fail(_metadata, __FILE__, __LINE__,		\
				macro "(" sx ")"), 1), fatal)

#define ASSERT_EQ(e, s)	__CM_CMP("ASSERT_EQ", e, s, #e, #s, ==, 1)
#define ASSERT_NE(e, s)	__CM_CMP("ASSERT_NE", e, s, #e, #s, !=, 1)
#define ASSERT_LT(e, s)	__CM_CMP("ASSERT_LT", e, s, #e, #s, <, 1)
#define ASSERT_LE(e, s)	__CM_CMP("ASSERT_LE", e, s, #e, #s, <=, 1)
#define ASSERT_GT(e, s)	__CM_CMP("ASSERT_GT", e, s, #e, #s, >, 1)
#define ASSERT_GE(e, s)	__CM_CMP("ASSERT_GE", e, s, #e, #s, >=, 1)
#define ASSERT_TRUE(x)	__CM_BOOL("ASSERT_TRUE", x, #x, 1, 1)
#define ASSERT_FALSE(x)	__CM_BOOL("ASSERT_FALSE", x, #x, 0, 1)
#define ASSERT_NULL(x)	__CM_BOOL("ASSERT_NULL", (x) == NULL, #x, 1, 1)
#define ASSERT_NOT_NULL(x)	__CM_BOOL("ASSERT_NOT_NULL", (x) != NULL, #x, 1, 1)

#define EXPECT_EQ(e, s)	__CM_CMP("EXPECT_EQ", e, s, #e, #s, ==, 0)
#define EXPECT_NE(e, s)	__CM_CMP("EXPECT_NE", e, s, #e, #s, !=, 0)
#define EXPECT_LT(e, s)	__CM_CMP("EXPECT_LT", e, s, #e, #s, <, 0)
#define EXPECT_LE(e, s)	__CM_CMP("EXPECT_LE", e, s, #e, #s, <=, 0)
#define EXPECT_GT(e, s)	__CM_CMP("EXPECT_GT", e, s, #e, #s, >, 0)
#define EXPECT_GE(e, s)	__CM_CMP("EXPECT_GE", e, s, #e, #s, >=, 0)
#define EXPECT_TRUE(x)	__CM_BOOL("EXPECT_TRUE", x, #x, 1, 0)
#define EXPECT_FALSE(x)	__CM_BOOL("EXPECT_FALSE", x, #x, 0, 0)
#define EXPECT_NULL(x)	__CM_BOOL("EXPECT_NULL", (x) == NULL, #x, 1, 0)
#define EXPECT_NOT_NULL(x)	__CM_BOOL("EXPECT_NOT_NULL", (x) != NULL, #x, 1, 0)

#define TH_LOG(fmt, ...)						\
	printf("# %s:%d: " fmt "\n", __FILE__, __LINE__, ##__VA_ARGS__)

/* SKIP(return, "no %s", "thing"): report the test as skipped. */
#define SKIP(statement, fmt, ...) do {					\
	snprintf(__cm_result->skip_reason,				\
		 sizeof(__cm_result->skip_reason), fmt, ##__VA_ARGS__);	\
	_metadata->skipped = 1;						\
	statement;							\
} while (0)

static inline void __cm_child(struct __cm_test *t)
{
	struct __cm_meta meta;

	memset(&meta, 0, sizeof(meta));
	meta.thread = pthread_self();
	alarm(t->timeout);
	if (!setjmp(meta.env))
		t->run(&meta);
	fflush(stdout);
	exit(meta.failed ? __CM_EXIT_FAIL : meta.skipped ? __CM_EXIT_SKIP : 0);
}

static inline int __cm_selected(const struct __cm_test *t, int argc, char **argv)
{
	int i;

	if (argc < 2)
		return 1;
	for (i = 1; i < argc; i++)
		if (strstr(t->name, argv[i]))
			return 1;
	return 0;
}

static inline int __cm_run_one(struct __cm_test *t, int nr)
{
	int status, ok = 0;
	const char *skip = NULL;
	pid_t pid;

	__cm_result->skip_reason[0] = '\0';
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		printf("# fork: %s\n", strerror(errno));
		printf("not ok %d - %s\n", nr, t->name);
		return 0;
	}
	if (pid == 0)
		__cm_child(t);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			printf("# waitpid: %s\n", strerror(errno));
			status = -1;
			break;
		}
	}
	if (status == -1) {
		/* reported above */
	} else if (WIFEXITED(status)) {
		if (WEXITSTATUS(status) == 0) {
			ok = 1;
		} else if (WEXITSTATUS(status) == __CM_EXIT_SKIP) {
			ok = 1;
			skip = __cm_result->skip_reason;
		} else if (WEXITSTATUS(status) != __CM_EXIT_FAIL) {
			printf("# %s: exit status %d\n", t->name,
			       WEXITSTATUS(status));
		}
	} else if (WIFSIGNALED(status)) {
		if (WTERMSIG(status) == SIGALRM)
			printf("# %s: timed out after %u s\n", t->name,
			       t->timeout);
		else
			printf("# %s: killed by signal %d (%s)\n", t->name,
			       WTERMSIG(status), strsignal(WTERMSIG(status)));
	}
	if (skip)
		printf("ok %d - %s # SKIP %s\n", nr, t->name, skip);
	else
		printf("%sok %d - %s\n", ok ? "" : "not ", nr, t->name);
	return ok;
}

static inline int __cm_main(int argc, char **argv)
{
	struct __cm_test *t;
	int n = 0, nr = 0, pass = 0;

	if (argc == 2 && !strcmp(argv[1], "-l")) {
		for (t = __cm_tests; t; t = t->next)
			printf("%s\n", t->name);
		return 0;
	}
	__cm_result = mmap(NULL, sizeof(*__cm_result), PROT_READ | PROT_WRITE,
			   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (__cm_result == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	for (t = __cm_tests; t; t = t->next)
		n += __cm_selected(t, argc, argv);
	printf("TAP version 13\n1..%d\n", n);
	for (t = __cm_tests; t; t = t->next)
		if (__cm_selected(t, argc, argv))
			pass += __cm_run_one(t, ++nr);
	printf("# totals: pass:%d fail:%d\n", pass, n - pass);
	fflush(stdout);
	munmap(__cm_result, sizeof(*__cm_result));
	return pass == n ? 0 : 1;
}

#define TEST_HARNESS_MAIN						\
	int main(int argc, char **argv)					\
	{								\
		return __cm_main(argc, argv);				\
	}

#endif /* _CM_HARNESS_H */
