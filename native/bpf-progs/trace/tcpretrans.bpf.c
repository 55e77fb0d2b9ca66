/* tcpretrans: TCP retransmissions (tcp:tcp_retransmit_skb) with the socket's addresses, its
 * state and whether the segment went out as a tail loss probe. No tracepoint marks a TLP, but
 * the kernel sends one only while the connection's congestion state is Open or CWR (every
 * other retransmission enters Recovery or Loss first), so that state tells them apart. */
#include "kdt_trace.h"

char LICENSE[] SEC("license") = "GPL";

/* -l: also report tail loss probes (bcc's tcpretrans shows them only then). */
volatile const bool loss_probes = false;

#define TCP_CA_OPEN 0
#define TCP_CA_CWR 2

#define KIND_RETRANSMIT 1
#define KIND_LOSS_PROBE 2

struct inet_connection_sock {
	__u8 icsk_ca_state : 5;
} __attribute__((preserve_access_index));

struct retrans_event {
	__u64 ts;
	__u64 skaddr;
	__u32 pid;
	__s32 state;
	__s32 err;
	__u16 family;
	__u16 sport;
	__u16 dport;
	__u8 kind;
	__u8 ca_state;
	__u8 saddr[16];
	__u8 daddr[16];
};

/* The congestion state: a bitfield of inet_connection_sock, which the tracepoint types as
 * struct sock, so it is read through a copy at the offset and shifts of this kernel. */
static __always_inline __u32 ca_state(const struct sock *sk)
{
	struct inet_connection_sock *icsk = (struct inet_connection_sock *)sk;
	unsigned long long v = 0;

	bpf_probe_read_kernel(&v, kdt_core_field_size(icsk->icsk_ca_state),
			      (const void *)icsk + kdt_core_field_offset(icsk->icsk_ca_state));
	v <<= __builtin_preserve_field_info(icsk->icsk_ca_state, BPF_FIELD_LSHIFT_U64);
	v >>= __builtin_preserve_field_info(icsk->icsk_ca_state, BPF_FIELD_RSHIFT_U64);
	return (__u32)v;
}

SEC("tp_btf/tcp_retransmit_skb")
int tcpretrans_retransmit(u64 *ctx)
{
	const struct sock *sk = (const struct sock *)ctx[0];
	struct retrans_event e = {};
	__u32 ca;

	if (!sk)
		return 0;
	e.state = sk->__sk_common.skc_state;
	ca = ca_state(sk);
	/* SYN and SYN-ACK retransmissions are never probes, whatever the state says. */
	e.kind = (e.state == 1 && (ca == TCP_CA_OPEN || ca == TCP_CA_CWR)) ? KIND_LOSS_PROBE : KIND_RETRANSMIT;
	if (e.kind == KIND_LOSS_PROBE && !loss_probes)
		return 0;
	e.ts = bpf_ktime_get_ns();
	e.skaddr = (__u64)sk;
	e.pid = bpf_get_current_pid_tgid() >> 32;
	e.err = (__s32)ctx[2];
	e.ca_state = ca;
	e.family = sk->__sk_common.skc_family;
	e.sport = sk->__sk_common.skc_num;
	e.dport = __builtin_bswap16(sk->__sk_common.skc_dport);
	if (e.family == AF_INET) {
		__builtin_memcpy(e.saddr, &sk->__sk_common.skc_rcv_saddr, 4);
		__builtin_memcpy(e.daddr, &sk->__sk_common.skc_daddr, 4);
	} else {
		bpf_probe_read_kernel(e.saddr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
		bpf_probe_read_kernel(e.daddr, 16, &sk->__sk_common.skc_v6_daddr);
	}
	kdt_emit(&e, sizeof(e));
	return 0;
}
