/* SPDX-License-Identifier: GPL-2.0 */
/* What the benchmarks share: the median of their runs, pinning a thread,
 * a real-time priority. */
#ifndef _CM_BENCH_BENCH_H
#define _CM_BENCH_BENCH_H

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Sorts @v: v[0] is then the best (smallest). */
static inline double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n & 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Pins the calling thread to @cpu; a benchmark that cannot is not run. */
static inline void bench_pin(const char *prog, int cpu)
{
	cpu_set_t set;
	int err;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	err = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	if (err) {
		fprintf(stderr, "%s: cannot pin to CPU %d: %s\n", prog, cpu,
			strerror(err));
		exit(1);
	}
}

/*
 * Runs the calling thread at the lowest real-time priority, so that the
 * other tasks of a loaded machine do not preempt it (the kernel's RT
 * throttling still leaves them 5 %). Return: 0, or an errno (not root):
 * the caller says so and runs as it is.
 */
static inline int bench_rt(void)
{
	struct sched_param sp = { .sched_priority = 1 };

	return pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);
}

#endif /* _CM_BENCH_BENCH_H */
