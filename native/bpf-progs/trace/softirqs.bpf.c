/* softirqs: time spent in each softirq vector (softirq_entry/exit), as totals and counts
 * per vector (id = vector) and, with dist, log2 histograms per vector. */
#include "irq_time.h"

char LICENSE[] SEC("license") = "GPL";

SEC("tp_btf/softirq_entry")
int softirqs_entry(u64 *ctx)
{
	irq_time_enter();
	return 0;
}

SEC("tp_btf/softirq_exit")
int softirqs_exit(u64 *ctx)
{
	irq_time_exit((__u32)ctx[0]);
	return 0;
}
