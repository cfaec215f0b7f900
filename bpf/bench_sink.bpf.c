/* SPDX-License-Identifier: MIT */
/* Bench sink: attached to host B's interface by lab/bench.sh so that B's own
 * network stack is not what limits the packet-rate measurement. Every frame
 * that reaches B is counted (packets and bytes, per CPU) and dropped.
 * Not part of the l2bpf data path; it only exists for the benchmark.
 *
 * Read with: bpftool map dump name bench_sink_cnt  (sum the per-CPU values). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct bench_sink_count {
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bench_sink_count);
} bench_sink_cnt SEC(".maps");

SEC("xdp")
int bench_sink(struct xdp_md *ctx)
{
	__u32 key = 0;
	struct bench_sink_count *c = bpf_map_lookup_elem(&bench_sink_cnt, &key);

	if (c) {
		c->packets++;
		c->bytes += (__u64)(ctx->data_end - ctx->data);
	}
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
