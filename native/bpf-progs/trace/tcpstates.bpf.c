/* tcpstates, tcpconnect and tcplife: every TCP state change (sock:inet_sock_set_state) with
 * the socket's addresses, the time in the previous state and since the socket was first
 * seen, its byte counters, and the process that owns it (the last one seen opening or
 * closing it in process context). The tools choose among these records in user space. */
#include "kdt_trace.h"

char LICENSE[] SEC("license") = "GPL";

#define IPPROTO_TCP 6
#define TCP_SYN_SENT 2
#define TCP_FIN_WAIT1 4
#define TCP_CLOSE 7
#define TCP_LAST_ACK 9

struct sock_seen {
	__u64 birth_ns;
	__u64 last_ns;
	__u32 pid;
	__u32 pad;
	char comm[TASK_COMM_LEN];
};

struct state_event {
	__u64 ts;
	__u64 skaddr;
	__u64 delta_ns;
	__u64 life_ns;
	__u64 rx_bytes;
	__u64 tx_bytes;
	__u32 pid;
	__u32 tid;
	__u32 owner_pid;
	__s32 oldstate;
	__s32 newstate;
	__u16 family;
	__u16 sport;
	__u16 dport;
	__u16 pad;
	__u8 saddr[16];
	__u8 daddr[16];
	char comm[TASK_COMM_LEN];
	char owner_comm[TASK_COMM_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u64);
	__type(value, struct sock_seen);
} socks SEC(".maps");

SEC("tp_btf/inet_sock_set_state")
int tcpstates_set_state(u64 *ctx)
{
	struct sock *sk = (struct sock *)ctx[0];
	int oldstate = (int)ctx[1], newstate = (int)ctx[2];
	__u64 key = (__u64)sk, now = bpf_ktime_get_ns(), pid_tgid = bpf_get_current_pid_tgid();
	struct tcp_sock *tp = (struct tcp_sock *)sk;
	struct sock_seen *seen, fresh = {};
	struct state_event e = {};
	__u32 pid = pid_tgid >> 32;

	if (sk->sk_protocol != IPPROTO_TCP)
		return 0;
	seen = bpf_map_lookup_elem(&socks, &key);
	if (!seen) {
		fresh.birth_ns = now;
		fresh.last_ns = now;
		bpf_map_update_elem(&socks, &key, &fresh, BPF_ANY);
		seen = bpf_map_lookup_elem(&socks, &key);
		if (!seen)
			return 0;
	}
	if (pid && (newstate == TCP_SYN_SENT || newstate == TCP_FIN_WAIT1 || newstate == TCP_LAST_ACK
		    || !seen->pid)) {
		seen->pid = pid;
		bpf_get_current_comm(seen->comm, sizeof(seen->comm));
	}
	e.ts = now;
	e.skaddr = key;
	e.delta_ns = now - seen->last_ns;
	e.life_ns = now - seen->birth_ns;
	seen->last_ns = now;
	/* the tracepoint types sk as struct sock: read the tcp_sock members through a copy */
	bpf_probe_read_kernel(&e.rx_bytes, sizeof(e.rx_bytes), &tp->bytes_received);
	bpf_probe_read_kernel(&e.tx_bytes, sizeof(e.tx_bytes), &tp->bytes_acked);
	e.pid = pid;
	e.tid = (__u32)pid_tgid;
	e.owner_pid = seen->pid;
	e.oldstate = oldstate;
	e.newstate = newstate;
	e.family = sk->__sk_common.skc_family;
	bpf_probe_read_kernel(&e.sport, sizeof(e.sport), &((struct inet_sock *)sk)->inet_sport);
	e.sport = e.sport ? __builtin_bswap16(e.sport) : sk->__sk_common.skc_num;
	e.dport = __builtin_bswap16(sk->__sk_common.skc_dport);
	if (e.family == AF_INET) {
		__builtin_memcpy(e.saddr, &sk->__sk_common.skc_rcv_saddr, 4);
		__builtin_memcpy(e.daddr, &sk->__sk_common.skc_daddr, 4);
	} else {
		bpf_probe_read_kernel(e.saddr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
		bpf_probe_read_kernel(e.daddr, 16, &sk->__sk_common.skc_v6_daddr);
	}
	bpf_get_current_comm(e.comm, sizeof(e.comm));
	__builtin_memcpy(e.owner_comm, seen->comm, sizeof(e.owner_comm));
	if (newstate == TCP_CLOSE)
		bpf_map_delete_elem(&socks, &key);
	kdt_emit(&e, sizeof(e));
	return 0;
}
