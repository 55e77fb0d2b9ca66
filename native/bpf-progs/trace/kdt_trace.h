/* Shared pieces of the `kdt trace` tools: the process filter (-p/-t/-c, rewritten in
 * .rodata before load), the helpers the tools use beyond kdt_bpf.h, log2 bucketing as
 * bcc's histograms count it, and the kernel structures the tools read (CO-RE). */
#ifndef KDT_TRACE_H
#define KDT_TRACE_H

#include "kdt_bpf.h"

#define TASK_COMM_LEN 16
#define BPF_MAP_TYPE_STACK_TRACE 7

static __u64 (*bpf_get_current_uid_gid)(void) = (void *)15;
static long (*bpf_probe_read_user)(void *dst, __u32 size, const void *unsafe_ptr) = (void *)112;
static long (*bpf_probe_read_user_str)(void *dst, __u32 size, const void *unsafe_ptr) = (void *)114;
static long (*bpf_probe_read_kernel_str)(void *dst, __u32 size, const void *unsafe_ptr) = (void *)115;
static void *(*bpf_get_current_task_btf)(void) = (void *)158;
static long (*bpf_get_stackid)(void *ctx, void *map, __u64 flags) = (void *)27;

/* The process filter: 0 / empty means "everyone". */
volatile const __u32 targ_tgid = 0;
volatile const __u32 targ_tid = 0;
volatile const char targ_comm[TASK_COMM_LEN] = {};

static __always_inline bool kdt_comm_matches(const char *comm)
{
	if (!targ_comm[0])
		return true;
	for (int i = 0; i < TASK_COMM_LEN; i++) {
		if (comm[i] != targ_comm[i])
			return false;
		if (!comm[i])
			return true;
	}
	return true;
}

/* Whether the task identified by tgid/tid and comm passes -p/-t/-c. */
static __always_inline bool kdt_task_wanted(__u32 tgid, __u32 tid, const char *comm)
{
	if (targ_tgid && tgid != targ_tgid)
		return false;
	if (targ_tid && tid != targ_tid)
		return false;
	return kdt_comm_matches(comm);
}

/* The same for the current task; reads the comm only when -c asks for it. */
static __always_inline bool kdt_current_wanted(void)
{
	__u64 id = bpf_get_current_pid_tgid();
	char comm[TASK_COMM_LEN];

	if (targ_tgid && (__u32)(id >> 32) != targ_tgid)
		return false;
	if (targ_tid && (__u32)id != targ_tid)
		return false;
	if (!targ_comm[0])
		return true;
	bpf_get_current_comm(comm, sizeof(comm));
	return kdt_comm_matches(comm);
}

/* bcc's bucket index: 0 for 0, else floor(log2(v)) + 1, so bucket i holds [2^(i-1), 2^i). */
static __always_inline __u32 kdt_log2_slot(__u64 v)
{
	__u32 r = 0;

	if (!v)
		return 0;
	if (v >> 32) { v >>= 32; r += 32; }
	if (v >> 16) { v >>= 16; r += 16; }
	if (v >> 8) { v >>= 8; r += 8; }
	if (v >> 4) { v >>= 4; r += 4; }
	if (v >> 2) { v >>= 2; r += 2; }
	if (v >> 1) { r += 1; }
	return r + 1;
}

#define KDT_MAX_SLOTS 64

/* The key of a `hist` map: which histogram (0, a pid, a disk...) and which log2 slot. */
struct kdt_hist_key {
	__u32 id;
	__u32 slot;
};

/* Adds n to the u64 a hash map keeps under key, creating the entry when it is missing (if
 * another CPU creates it first, the add goes to theirs). */
static __always_inline void kdt_map_add(void *map, const void *key, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(map, key);

	if (!v) {
		if (!bpf_map_update_elem(map, key, &n, BPF_NOEXIST))
			return;
		v = bpf_map_lookup_elem(map, key);
		if (!v)
			return;
	}
	__sync_fetch_and_add(v, n);
}

/* ---- kernel structures the tools read ---- */

struct pt_regs {
	unsigned long di;
	unsigned long si;
	unsigned long dx;
	unsigned long r10;
	unsigned long r8;
	unsigned long orig_ax;
} __attribute__((preserve_access_index));

struct mm_struct;

struct task_struct {
	struct mm_struct *mm;
	int pid;
	int tgid;
	char comm[TASK_COMM_LEN];
	struct task_struct *real_parent;
	struct task_struct *group_leader;
	int exit_code;
	int exit_signal;
	unsigned int __state;
	__u64 start_time;
} __attribute__((preserve_access_index));

struct in6_addr {
	__u8 bytes[16]; /* read whole, never by member */
} __attribute__((preserve_access_index));

struct sock_common {
	__be32 skc_daddr;
	__be32 skc_rcv_saddr;
	__be16 skc_dport;
	__u16 skc_num;
	unsigned short skc_family;
	unsigned char skc_state;
	struct in6_addr skc_v6_daddr;
	struct in6_addr skc_v6_rcv_saddr;
} __attribute__((preserve_access_index));

struct sock {
	struct sock_common __sk_common;
	__u16 sk_protocol;
} __attribute__((preserve_access_index));

struct inet_sock {
	__be16 inet_sport; /* stays set after unhash clears skc_num */
} __attribute__((preserve_access_index));

struct tcp_sock {
	__u64 bytes_received;
	__u64 bytes_acked;
} __attribute__((preserve_access_index));

/* Every tool sends its records through `events` and counts what did not fit in `lost`. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

static __always_inline void kdt_count_lost(void)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&lost, &zero);

	if (n)
		*n += 1;
}

static __always_inline void kdt_emit(void *record, __u64 size)
{
	if (bpf_ringbuf_output(&events, record, size, 0) < 0)
		kdt_count_lost();
}

#define AF_INET 2
#define AF_INET6 10

#endif
