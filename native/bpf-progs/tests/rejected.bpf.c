/* Test program: the verifier must reject it (a hash map value used without the NULL
 * check; array lookups with a constant key in bounds are proven non-NULL by new kernels). */
#include "kdt_bpf.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

SEC("socket")
int unchecked_lookup(void *skb)
{
	__u32 key = 0;
	__u64 *value = bpf_map_lookup_elem(&counters, &key);
	return (int)*value;
}
