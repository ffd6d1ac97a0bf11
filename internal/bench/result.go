package bench

import (
	"math"
	"slices"
	"time"
)

// Result holds the figures of one run.
type Result struct {
	// Window is the measured length of the measurement window, seconds.
	Window float64 `json:"window_s"`
	// OfferedTxs are the transactions the load offered during the window
	// (open loop: due by the schedule, shed ones included; closed loop:
	// submitted).
	OfferedTxs uint64  `json:"offered_txs"`
	OfferedTPS float64 `json:"offered_tps"`
	// SubmittedTxs are the transactions the nodes accepted during the
	// window.
	SubmittedTxs uint64 `json:"submitted_txs"`
	// InFlightAtStart were submitted before the window and not committed
	// at its start: committed ≤ offered + in flight at start.
	InFlightAtStart uint64 `json:"in_flight_at_start"`
	// Shed are offered transactions the open loop did not submit because
	// InFlight were already in flight or the generator was behind.
	Shed uint64 `json:"shed"`
	// Rejected are transactions the nodes refused (busy refusals are
	// retried and not counted).
	Rejected       uint64   `json:"rejected"`
	RejectMessages []string `json:"reject_messages,omitempty"`
	// CommittedTxs are the transactions node 0 committed during the window.
	CommittedTxs uint64  `json:"committed_txs"`
	CommittedTPS float64 `json:"committed_tps"`
	// FailedInBlock are committed transactions the application reported
	// as failed (a code other than 0), over the whole run.
	FailedInBlock uint64 `json:"failed_in_block"`
	// MeanTxBytes is the mean size of the transactions sent.
	MeanTxBytes float64 `json:"mean_tx_bytes"`

	Latency Latency `json:"latency"`
	CPU     CPU     `json:"cpu"`
	// BytesSent are the payload bytes all nodes' transports sent during
	// the window; BytesPerTx divides them by CommittedTxs.
	BytesSent  uint64  `json:"bytes_sent"`
	BytesPerTx float64 `json:"bytes_per_tx"`
	// Consensus is the nodes' consensus work during the window.
	Consensus Consensus `json:"consensus"`
	Memory    Memory    `json:"memory"`
	// Keys is the genesis era's key generation, through the log, while the
	// load ran.
	Keys Keys `json:"keys"`
	// MissedEvents are commits the event stream skipped (a gap in the
	// heights): their transactions' latencies are lost.
	MissedEvents uint64 `json:"missed_events,omitempty"`
	// Sale is the sale payload's figures (its requests phase fills in the
	// committed transactions, the latency, the CPU and the bytes above).
	Sale *SaleResult `json:"sale,omitempty"`
}

// Latency is the commit latency of the transactions submitted in the
// window, from the submission call to node 0's commit notification.
type Latency struct {
	// Tracked is how the transactions were chosen: "all".
	Tracked string `json:"tracked"`
	// Samples are the window's transactions seen committed.
	Samples uint64 `json:"samples"`
	// Unfinished are the window's transactions not committed by the end
	// of the drain.
	Unfinished uint64  `json:"unfinished"`
	P50        float64 `json:"p50_ms"`
	P90        float64 `json:"p90_ms"`
	P99        float64 `json:"p99_ms"`
	Max        float64 `json:"max_ms"`
	Mean       float64 `json:"mean_ms"`
}

// CPU is the processor time of the nodes during the window.
type CPU struct {
	// Scope says what is counted.
	Scope   string    `json:"scope"`
	Seconds float64   `json:"seconds"`
	PerNode []float64 `json:"per_node_seconds,omitempty"`
	// Per1000Txs is Seconds per 1,000 committed transactions.
	Per1000Txs float64 `json:"seconds_per_1000_txs"`
	// Utilization is Seconds over the window: cores kept busy.
	Utilization float64 `json:"cores_busy"`
	// LoadGenerator is the bench's own CPU time in the window (the load
	// generator, submission and tracking).
	LoadGenerator float64 `json:"load_generator_seconds"`
}

// Consensus is the consensus work of the nodes during the window, from
// each node's messages handled by its engine and its epoch.
type Keys struct {
	// ReadyAfter is the time from the launch of the nodes until every
	// node had the keys (checked every 100 ms), seconds; 0 if they did not
	// within the run.
	ReadyAfter float64 `json:"ready_after_s"`
	// Block is the block the keys came with; Parts the parts they are made
	// of.
	Block uint64 `json:"block"`
	Parts int    `json:"parts"`
	// Bytes are the key transactions' bytes for the network's size: n
	// parts and n² acks (dkg.PartSize, dkg.AckSize).
	Bytes int `json:"bytes"`
}

type Consensus struct {
	// Epochs is the mean over the nodes of the epochs they went through.
	Epochs float64 `json:"epochs_per_node"`
	// Messages is the mean over the nodes of the epoch messages they
	// handled.
	Messages float64 `json:"messages_per_node"`
	// MessagesPerEpoch is the mean over the nodes of each one's messages
	// over its epochs, leaving out the nodes whose epoch did not move (0
	// if none moved).
	MessagesPerEpoch float64 `json:"messages_per_node_per_epoch"`
}

// consensusWork compares two readings of the nodes' consensus counters.
func consensusWork(before, after []progress) Consensus {
	var c Consensus
	nodes := min(len(before), len(after))
	if nodes == 0 {
		return c
	}
	moved := 0
	for i := range nodes {
		msgs := float64(after[i].Messages - min(before[i].Messages, after[i].Messages))
		epochs := float64(after[i].Epoch - min(before[i].Epoch, after[i].Epoch))
		c.Messages += msgs
		c.Epochs += epochs
		if epochs > 0 {
			c.MessagesPerEpoch += msgs / epochs
			moved++
		}
	}
	c.Messages /= float64(nodes)
	c.Epochs /= float64(nodes)
	if moved > 0 {
		c.MessagesPerEpoch /= float64(moved)
	}
	return c
}

// Memory is the peak resident memory.
type Memory struct {
	Scope string `json:"scope"`
	// PerNode is each node process's VmHWM (p2p).
	PerNode []uint64 `json:"per_node_peak_bytes,omitempty"`
	// Process is this process's VmHWM (mem: all nodes and the bench).
	Process uint64 `json:"process_peak_bytes,omitempty"`
}

// MaxPeak is the largest peak of a node, or the process's.
func (m Memory) MaxPeak() uint64 {
	if len(m.PerNode) == 0 {
		return m.Process
	}
	return slices.Max(m.PerNode)
}

// percentile returns the q-quantile (0 < q ≤ 1) of sorted values by the
// nearest-rank method: the smallest value with at least q of the values at
// or below it. It returns 0 for no values.
func percentile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(q * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// summarize sorts the latencies (milliseconds) and fills in the
// percentiles.
func summarize(ms []float64, unfinished uint64) Latency {
	slices.Sort(ms)
	l := Latency{Tracked: "all", Samples: uint64(len(ms)), Unfinished: unfinished}
	if len(ms) == 0 {
		return l
	}
	sum := 0.0
	for _, v := range ms {
		sum += v
	}
	l.P50, l.P90, l.P99 = percentile(ms, 0.50), percentile(ms, 0.90), percentile(ms, 0.99)
	l.Max, l.Mean = ms[len(ms)-1], sum/float64(len(ms))
	return l
}

// Saturation is the rule that ends a sweep's rising rates for one size.
type Saturation struct {
	// MinRatio: committed below this fraction of the offered rate is
	// saturated (0.8).
	MinRatio float64
	// MaxP99: a p99 latency above it is saturated.
	MaxP99 time.Duration
	// MaxUnfinished: more than this fraction of the window's transactions
	// still uncommitted after the drain is saturated (their latency is
	// past the drain).
	MaxUnfinished float64
}

// DefaultSaturation is the sweep's rule.
var DefaultSaturation = Saturation{MinRatio: 0.8, MaxP99: 2 * time.Second, MaxUnfinished: 0.01}

// Saturated says whether a run at an offered rate saturated the network,
// and why.
func (s Saturation) Saturated(rate float64, r Result) (bool, string) {
	switch {
	case r.CommittedTxs == 0:
		return true, "nothing committed"
	case rate > 0 && r.CommittedTPS < s.MinRatio*rate:
		return true, "committed below " + pct(s.MinRatio) + " of offered"
	case s.MaxP99 > 0 && r.Latency.P99 > float64(s.MaxP99)/float64(time.Millisecond):
		return true, "p99 latency above " + s.MaxP99.String()
	case window(r) > 0 && float64(r.Latency.Unfinished) > s.MaxUnfinished*float64(window(r)):
		return true, "transactions uncommitted after the drain"
	}
	return false, ""
}

func window(r Result) uint64 { return r.Latency.Samples + r.Latency.Unfinished }

func pct(f float64) string { return formatFloat(100*f) + "%" }
