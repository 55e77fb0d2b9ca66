/* Test program: reads a member the running kernel's sk_buff does not have, without
 * checking that it exists. The loader must poison that instruction (not fail the whole
 * load), so that the verifier rejects this program with a log pointing at it. */
#include "kdt_bpf.h"

char LICENSE[] SEC("license") = "GPL";

struct sk_buff___kdt {
	int kdt_no_such_member;
} __attribute__((preserve_access_index));

__u64 seen;

SEC("tp_btf/net_dev_queue")
int read_missing_member(u64 *ctx)
{
	struct sk_buff___kdt *skb = (struct sk_buff___kdt *)ctx[0];
	seen = skb->kdt_no_such_member;
	return 0;
}
