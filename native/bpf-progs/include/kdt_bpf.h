/* KdtCapture's own CO-RE header for BPF programs: the BPF ABI constants, helper
 * declarations, map/section macros and the few kernel structures our programs read.
 * Written by hand for this project: no generated vmlinux.h, no libbpf headers.
 *
 * Kernel structures carry only the members we use, marked preserve_access_index so
 * that clang records a CO-RE relocation for every access; the loader moves each access
 * to where the running kernel keeps the member (names are matched, not offsets).
 * Fields that sit inside anonymous unions/structs in the kernel may be declared
 * directly: the loader finds them through the kernel's anonymous members. */
#ifndef KDT_BPF_H
#define KDT_BPF_H

typedef signed char __s8;
typedef unsigned char __u8;
typedef short __s16;
typedef unsigned short __u16;
typedef int __s32;
typedef unsigned int __u32;
typedef long long __s64;
typedef unsigned long long __u64;
typedef __u16 __be16;
typedef __u32 __be32;
typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;
typedef _Bool bool;
#define true 1
#define false 0
#define NULL ((void *)0)

/* ---- sections and maps (the BTF-defined map convention the loader reads) ---- */

#define SEC(name) __attribute__((section(name), used))
#define __always_inline inline __attribute__((always_inline))
#define __noinline __attribute__((noinline))
#define __uint(name, val) int (*name)[val]
#define __type(name, val) __typeof__(val) *name
#define __array(name, val) __typeof__(val) *name[]

/* map types (include/uapi/linux/bpf.h, enum bpf_map_type) */
#define BPF_MAP_TYPE_HASH 1
#define BPF_MAP_TYPE_ARRAY 2
#define BPF_MAP_TYPE_PERF_EVENT_ARRAY 4
#define BPF_MAP_TYPE_PERCPU_HASH 5
#define BPF_MAP_TYPE_PERCPU_ARRAY 6
#define BPF_MAP_TYPE_LRU_HASH 9
#define BPF_MAP_TYPE_RINGBUF 27

/* map update flags */
#define BPF_ANY 0
#define BPF_NOEXIST 1
#define BPF_EXIST 2

/* perf event output: the CPU index in the low 32 bits, skb bytes to append in the high */
#define BPF_F_INDEX_MASK 0xffffffffULL
#define BPF_F_CURRENT_CPU BPF_F_INDEX_MASK
#define BPF_F_CTXLEN_MASK (0xfffffULL << 32)

/* ---- helpers (ids from enum bpf_func_id) ---- */

static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;
static long (*bpf_map_update_elem)(void *map, const void *key, const void *value, __u64 flags) = (void *)2;
static long (*bpf_map_delete_elem)(void *map, const void *key) = (void *)3;
static __u64 (*bpf_ktime_get_ns)(void) = (void *)5;
static __u32 (*bpf_get_smp_processor_id)(void) = (void *)8;
static __u64 (*bpf_get_current_pid_tgid)(void) = (void *)14;
static long (*bpf_get_current_comm)(void *buf, __u32 size) = (void *)16;
static long (*bpf_perf_event_output)(void *ctx, void *map, __u64 flags, void *data, __u64 size) = (void *)25;
static long (*bpf_skb_output)(void *ctx, void *map, __u64 flags, void *data, __u64 size) = (void *)111;
static long (*bpf_probe_read_kernel)(void *dst, __u32 size, const void *unsafe_ptr) = (void *)113;
static long (*bpf_ringbuf_output)(void *ringbuf, void *data, __u64 size, __u64 flags) = (void *)130;
static void *(*bpf_ringbuf_reserve)(void *ringbuf, __u64 size, __u64 flags) = (void *)131;
static void (*bpf_ringbuf_submit)(void *data, __u64 flags) = (void *)132;
static void (*bpf_ringbuf_discard)(void *data, __u64 flags) = (void *)133;

/* ---- CO-RE builtins (the relocation kinds clang emits into .BTF.ext) ---- */

/* __builtin_preserve_field_info kinds */
#define BPF_FIELD_BYTE_OFFSET 0
#define BPF_FIELD_BYTE_SIZE 1
#define BPF_FIELD_EXISTS 2
#define BPF_FIELD_SIGNED 3
#define BPF_FIELD_LSHIFT_U64 4
#define BPF_FIELD_RSHIFT_U64 5
/* __builtin_preserve_type_info kinds */
#define BPF_TYPE_EXISTS 0
#define BPF_TYPE_SIZE 1
/* __builtin_btf_type_id kinds */
#define BPF_TYPE_ID_LOCAL 0
#define BPF_TYPE_ID_TARGET 1
/* __builtin_preserve_enum_value kinds */
#define BPF_ENUMVAL_EXISTS 0
#define BPF_ENUMVAL_VALUE 1

#define kdt_core_field_exists(field) __builtin_preserve_field_info(field, BPF_FIELD_EXISTS)
#define kdt_core_field_size(field) __builtin_preserve_field_info(field, BPF_FIELD_BYTE_SIZE)
#define kdt_core_field_offset(field) __builtin_preserve_field_info(field, BPF_FIELD_BYTE_OFFSET)
#define kdt_core_type_exists(type) __builtin_preserve_type_info(*(type *)0, BPF_TYPE_EXISTS)
#define kdt_core_type_size(type) __builtin_preserve_type_info(*(type *)0, BPF_TYPE_SIZE)
#define kdt_core_type_id_local(type) __builtin_btf_type_id(*(type *)0, BPF_TYPE_ID_LOCAL)
#define kdt_core_type_id_kernel(type) __builtin_btf_type_id(*(type *)0, BPF_TYPE_ID_TARGET)
#define kdt_core_enum_value_exists(enum_type, value) \
	__builtin_preserve_enum_value(*(typeof(enum_type) *)value, BPF_ENUMVAL_EXISTS)
#define kdt_core_enum_value(enum_type, value) \
	__builtin_preserve_enum_value(*(typeof(enum_type) *)value, BPF_ENUMVAL_VALUE)

/* Reads a bitfield of a BTF-typed (directly readable) object: load the bytes that hold
 * it, then shift left and right by the amounts the loader computed for this kernel. */
#define kdt_core_read_bitfield(s, field) ({                                         \
	const void *__p = (const void *)(s) + kdt_core_field_offset((s)->field);   \
	unsigned long long __v = 0;                                                 \
	switch (kdt_core_field_size((s)->field)) {                                  \
	case 1: __v = *(const __u8 *)__p; break;                                    \
	case 2: __v = *(const __u16 *)__p; break;                                   \
	case 4: __v = *(const __u32 *)__p; break;                                   \
	case 8: __v = *(const __u64 *)__p; break;                                   \
	}                                                                           \
	__v <<= __builtin_preserve_field_info((s)->field, BPF_FIELD_LSHIFT_U64);    \
	if (__builtin_preserve_field_info((s)->field, BPF_FIELD_SIGNED))            \
		__v = ((long long)__v) >> __builtin_preserve_field_info((s)->field, BPF_FIELD_RSHIFT_U64); \
	else                                                                        \
		__v >>= __builtin_preserve_field_info((s)->field, BPF_FIELD_RSHIFT_U64); \
	__v;                                                                        \
})

/* ---- the kernel structures our programs read (members by name, CO-RE relocated) ---- */

struct net_device {
	int ifindex;
} __attribute__((preserve_access_index));

struct sk_buff {
	struct net_device *dev; /* inside an anonymous union/struct in the kernel */
	unsigned int len;
	unsigned int data_len;
	__u16 mac_len;
	__u32 mark; /* inside an anonymous union in the kernel */
	__u8 pkt_type : 3;
	__u8 ip_summed : 2;
	__be16 protocol;
	__u16 transport_header;
	__u16 network_header;
	__u16 mac_header;
	unsigned char *head;
	unsigned char *data;
} __attribute__((preserve_access_index));

#endif
