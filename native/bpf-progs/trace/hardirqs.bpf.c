/* hardirqs: time spent in each hard interrupt handler (irq:irq_handler_entry/exit), as totals
 * and counts per irq line (id = irq number, the handler's name kept in `names`) and, for
 * --dist, log2 histograms per line. */
#include "irq_time.h"

char LICENSE[] SEC("license") = "GPL";

#define IRQ_NAME_LEN 32

struct irqaction {
	const char *name;
} __attribute__((preserve_access_index));

struct irq_name {
	char name[IRQ_NAME_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct irq_name);
} names SEC(".maps");

SEC("tp_btf/irq_handler_entry")
int hardirqs_entry(u64 *ctx)
{
	irq_time_enter();
	return 0;
}

SEC("tp_btf/irq_handler_exit")
int hardirqs_exit(u64 *ctx)
{
	__u32 irq = (__u32)ctx[0];
	struct irqaction *action = (struct irqaction *)ctx[1];
	struct irq_name name = {};

	/* Named before it is counted: whoever reads a line's totals finds its name. */
	if (!bpf_map_lookup_elem(&names, &irq)) {
		bpf_probe_read_kernel_str(name.name, sizeof(name.name), action->name);
		bpf_map_update_elem(&names, &irq, &name, BPF_NOEXIST);
	}
	irq_time_exit(irq);
	return 0;
}
