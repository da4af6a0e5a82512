/* SPDX-License-Identifier: GPL-2.0 */
/* The statistic both benchmarks report: the median of their runs. */
#ifndef _CM_BENCH_MEDIAN_H
#define _CM_BENCH_MEDIAN_H

#include <stdlib.h>

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

#endif /* _CM_BENCH_MEDIAN_H */
