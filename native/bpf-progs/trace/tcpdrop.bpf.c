/* tcpdrop: TCP packets the kernel drops (skb:kfree_skb), with the drop reason, the freeing
 * location and the packet's addresses, ports and flags from its headers. */
#include "kdt_trace.h"

char LICENSE[] SEC("license") = "GPL";

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define IPPROTO_TCP 6

struct drop_event {
	__u64 ts;
	__u64 location;
	__u32 pid;
	__u32 tid;
	__u32 reason;
	__u16 family;
	__u16 sport;
	__u16 dport;
	__u8 tcpflags;
	__u8 pad;
	__u8 saddr[16];
	__u8 daddr[16];
	char comm[TASK_COMM_LEN];
};

struct iphdr_min {
	__u8 ver_ihl;
	__u8 tos;
	__u16 tot_len;
	__u16 id;
	__u16 frag_off;
	__u8 ttl;
	__u8 protocol;
	__u16 check;
	__u32 saddr;
	__u32 daddr;
};

struct ipv6hdr_min {
	__u32 vtc_flow;
	__u16 payload_len;
	__u8 nexthdr;
	__u8 hop_limit;
	__u8 saddr[16];
	__u8 daddr[16];
};

struct tcphdr_min {
	__u16 source;
	__u16 dest;
	__u32 seq;
	__u32 ack_seq;
	__u8 doff;
	__u8 flags;
};

SEC("tp_btf/kfree_skb")
int tcpdrop_kfree_skb(u64 *ctx)
{
	struct sk_buff *skb = (struct sk_buff *)ctx[0];
	struct drop_event e = {};
	struct tcphdr_min th;
	unsigned char *head = skb->head, *nh = head + skb->network_header;
	__u16 proto = __builtin_bswap16(skb->protocol);
	__u64 pid_tgid;

	if (!kdt_current_wanted())
		return 0;
	if (proto == ETH_P_IP) {
		struct iphdr_min ip;

		if (bpf_probe_read_kernel(&ip, sizeof(ip), nh) || ip.protocol != IPPROTO_TCP)
			return 0;
		e.family = AF_INET;
		__builtin_memcpy(e.saddr, &ip.saddr, 4);
		__builtin_memcpy(e.daddr, &ip.daddr, 4);
		if (bpf_probe_read_kernel(&th, sizeof(th), nh + (ip.ver_ihl & 0xf) * 4))
			return 0;
	} else if (proto == ETH_P_IPV6) {
		struct ipv6hdr_min ip6;

		if (bpf_probe_read_kernel(&ip6, sizeof(ip6), nh) || ip6.nexthdr != IPPROTO_TCP)
			return 0;
		e.family = AF_INET6;
		__builtin_memcpy(e.saddr, ip6.saddr, 16);
		__builtin_memcpy(e.daddr, ip6.daddr, 16);
		if (bpf_probe_read_kernel(&th, sizeof(th), nh + 40))
			return 0;
	} else {
		return 0;
	}
	pid_tgid = bpf_get_current_pid_tgid();
	e.ts = bpf_ktime_get_ns();
	e.location = ctx[1];
	e.reason = (__u32)ctx[2];
	e.pid = pid_tgid >> 32;
	e.tid = (__u32)pid_tgid;
	e.sport = __builtin_bswap16(th.source);
	e.dport = __builtin_bswap16(th.dest);
	e.tcpflags = th.flags;
	bpf_get_current_comm(e.comm, sizeof(e.comm));
	kdt_emit(&e, sizeof(e));
	return 0;
}
